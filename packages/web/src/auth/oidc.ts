/**
 * Deployed sign-in: OpenID Connect authorization code flow with PKCE, as a public client
 * (no client secret exists in the page). The ID token is what the WebSocket authorizer
 * verifies (its `aud` is the client id); it is kept in sessionStorage, so it lasts as long
 * as the tab and is never part of the bundle.
 */
import type { OidcConfig } from "../config.ts";
import { isFresh } from "./jwt.ts";
import type { AuthSession } from "./session.ts";

const TOKEN_KEY = "azuchi.oidc.idToken";
const PENDING_KEY = "azuchi.oidc.pending";

interface ProviderMetadata {
  authorization_endpoint: string;
  token_endpoint: string;
}

export class OidcSignInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OidcSignInError";
  }
}

async function discover(config: OidcConfig): Promise<ProviderMetadata> {
  const response = await fetch(`${config.authority}/.well-known/openid-configuration`);
  if (!response.ok) throw new OidcSignInError(`The sign-in service did not answer (HTTP ${response.status}).`);
  return (await response.json()) as ProviderMetadata;
}

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const randomString = () => base64Url(crypto.getRandomValues(new Uint8Array(32)));

/** Sends the browser to the provider's sign-in page; it comes back to `redirectUri` with a code. */
export async function beginOidcSignIn(config: OidcConfig): Promise<never> {
  const metadata = await discover(config);
  const verifier = randomString();
  const state = randomString();
  const challenge = base64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, returnTo: window.location.search }));
  const url = new URL(metadata.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    scope: config.scope,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  window.location.assign(url);
  return new Promise<never>(() => {});
}

/** On the way back from the provider: trades the code for tokens and restores the URL. */
async function completeOidcSignIn(config: OidcConfig, params: URLSearchParams): Promise<string> {
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? "null") as { verifier: string; state: string; returnTo: string } | null;
  sessionStorage.removeItem(PENDING_KEY);
  if (params.get("error")) throw new OidcSignInError(`Sign-in was not completed: ${params.get("error_description") ?? params.get("error")}.`);
  if (!pending || pending.state !== params.get("state")) throw new OidcSignInError("This sign-in link is stale; sign in again.");
  const metadata = await discover(config);
  const response = await fetch(metadata.token_endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code") ?? "",
      redirect_uri: config.redirectUri,
      client_id: config.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const body = (await response.json().catch(() => ({}))) as { id_token?: string; error?: string };
  if (!response.ok || !body.id_token) throw new OidcSignInError(`Sign-in failed: ${body.error ?? `HTTP ${response.status}`}.`);
  sessionStorage.setItem(TOKEN_KEY, body.id_token);
  window.history.replaceState(null, "", `${window.location.pathname}${pending.returnTo}`);
  return body.id_token;
}

function userOf(token: string): string {
  try {
    const claims = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
    for (const claim of ["email", "preferred_username", "cognito:username", "name", "sub"]) {
      if (typeof claims[claim] === "string") return claims[claim];
    }
  } catch {
    // Shown only as a label.
  }
  return "you";
}

function oidcSession(token: string): AuthSession {
  return {
    user: userOf(token),
    token: async () => {
      const current = sessionStorage.getItem(TOKEN_KEY) ?? undefined;
      return isFresh(current, Date.now()) ? current : undefined;
    },
    signOut: () => sessionStorage.removeItem(TOKEN_KEY),
  };
}

/** The signed-in session after a redirect back, or from earlier in this tab; undefined when the user must sign in. */
export async function restoreOidcSession(config: OidcConfig): Promise<AuthSession | undefined> {
  const params = new URLSearchParams(window.location.search);
  if (params.has("code") || params.has("error")) return oidcSession(await completeOidcSignIn(config, params));
  const token = sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  return isFresh(token, Date.now()) ? oidcSession(token) : undefined;
}

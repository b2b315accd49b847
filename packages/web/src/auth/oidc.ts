/**
 * Deployed sign-in: OpenID Connect authorization code flow with PKCE, as a public client
 * (no client secret exists in the page), done by `oauth4webapi`: discovery with the issuer
 * checked, `state` (CSRF), `nonce` (replay), and the ID token's `iss`, `aud`, `azp`, `exp`
 * and `iat` checked before it is kept. The ID token is what the WebSocket authorizer
 * verifies (its signature, against the issuer's JWKS; its `aud` is the client id); it is kept
 * in sessionStorage, so it lasts as long as the tab and is never part of the bundle.
 */
import * as oauth from "oauth4webapi";
import type { OidcConfig } from "../config.ts";
import { isFresh } from "./jwt.ts";
import type { AuthSession } from "./session.ts";

const TOKEN_KEY = "azuchi.oidc.idToken";
const PENDING_KEY = "azuchi.oidc.pending";

/** What a sign-in started in this tab expects back; used once, then removed. */
interface PendingSignIn {
  verifier: string;
  state: string;
  nonce: string;
  returnTo: string;
}

export class OidcSignInError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OidcSignInError";
  }
}

/** The provider's metadata, its `issuer` checked to be the configured authority (OIDC Discovery §4.3). */
async function discover(config: OidcConfig): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(config.authority);
  try {
    return await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oidc" }));
  } catch (error) {
    throw new OidcSignInError("The sign-in service could not be reached or is not the configured one.", { cause: error });
  }
}

const clientOf = (config: OidcConfig): oauth.Client => ({ client_id: config.clientId });

/** Sends the browser to the provider's sign-in page; it comes back to `redirectUri` with a code. */
export async function beginOidcSignIn(config: OidcConfig): Promise<never> {
  const as = await discover(config);
  if (!as.authorization_endpoint) throw new OidcSignInError("The sign-in service has no authorization endpoint.");
  const pending: PendingSignIn = {
    verifier: oauth.generateRandomCodeVerifier(),
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    returnTo: window.location.search,
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    scope: config.scope,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(pending.verifier),
    code_challenge_method: "S256",
  }).toString();
  window.location.assign(url);
  return new Promise<never>(() => {});
}

function takePending(): PendingSignIn | undefined {
  const raw = sessionStorage.getItem(PENDING_KEY);
  // Removed before anything else: a callback is answered once, so a replayed one finds nothing.
  sessionStorage.removeItem(PENDING_KEY);
  if (!raw) return undefined;
  try {
    const value = JSON.parse(raw) as Partial<PendingSignIn>;
    if (typeof value.verifier === "string" && typeof value.state === "string" && typeof value.nonce === "string" && typeof value.returnTo === "string") {
      return value as PendingSignIn;
    }
  } catch {
    // A damaged entry is no sign-in in progress.
  }
  return undefined;
}

/** The callback's parameters leave the address bar whatever the outcome: a code is used once. */
function leaveCallback(returnTo: string): void {
  window.history.replaceState(null, "", `${window.location.pathname}${returnTo}`);
}

/** On the way back from the provider: checks the response, trades the code for tokens, and restores the URL. */
async function completeOidcSignIn(config: OidcConfig, callback: URL): Promise<string> {
  const pending = takePending();
  leaveCallback(pending?.returnTo ?? "");
  // No sign-in was started in this tab (a forged link, or one already used): nothing to trade.
  if (!pending) throw new OidcSignInError("This sign-in link was not started here or was already used; sign in again.");
  const as = await discover(config);
  const client = clientOf(config);
  let parameters: URLSearchParams;
  try {
    parameters = oauth.validateAuthResponse(as, client, callback, pending.state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      throw new OidcSignInError(`Sign-in was not completed: ${error.error_description ?? error.error}.`, { cause: error });
    }
    throw new OidcSignInError("This sign-in response does not belong to the sign-in started here; sign in again.", { cause: error });
  }
  try {
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), parameters, config.redirectUri, pending.verifier);
    const result = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: pending.nonce, requireIdToken: true });
    const idToken = result.id_token;
    if (!idToken) throw new OidcSignInError("The sign-in service returned no ID token.");
    sessionStorage.setItem(TOKEN_KEY, idToken);
    return idToken;
  } catch (error) {
    if (error instanceof OidcSignInError) throw error;
    if (error instanceof oauth.ResponseBodyError) throw new OidcSignInError(`Sign-in failed: ${error.error_description ?? error.error}.`, { cause: error });
    throw new OidcSignInError("Sign-in failed: the sign-in service's answer did not check out.", { cause: error });
  }
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

let restoring: Promise<AuthSession | undefined> | undefined;

/**
 * The signed-in session after a redirect back, or from earlier in this tab; undefined when the
 * user must sign in. Once per page load: a callback is answered once, and React's development
 * mode runs effects twice.
 */
export function restoreOidcSession(config: OidcConfig): Promise<AuthSession | undefined> {
  restoring ??= restore(config);
  return restoring;
}

async function restore(config: OidcConfig): Promise<AuthSession | undefined> {
  const callback = new URL(window.location.href);
  if (callback.searchParams.has("code") || callback.searchParams.has("error")) return oidcSession(await completeOidcSignIn(config, callback));
  const token = sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  return isFresh(token, Date.now()) ? oidcSession(token) : undefined;
}

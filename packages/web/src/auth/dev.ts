import { isFresh } from "./jwt.ts";
import type { AuthSession } from "./session.ts";

/** The local stack's sign-in: a user name and GET /dev/token. Nothing is secret here. */
const USER_KEY = "azuchi.devUser";

export class DevSignInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DevSignInError";
  }
}

async function fetchDevToken(user: string): Promise<string> {
  const response = await fetch(`/dev/token?user=${encodeURIComponent(user)}`);
  const body = (await response.json().catch(() => undefined)) as { token?: string; error?: string } | undefined;
  // A static host answers with a page or a 404, not JSON: this is not the local stack.
  if (!body) throw new DevSignInError("This server has no local sign-in. Deployed, the page needs VITE_OIDC_AUTHORITY and VITE_OIDC_CLIENT_ID.");
  if (!response.ok || !body.token) throw new DevSignInError(body.error ? `That user name does not work: ${body.error.replace(/^user: /, "")}.` : `Sign-in failed (HTTP ${response.status}).`);
  return body.token;
}

function devSession(user: string, first?: string): AuthSession {
  let cached = first;
  return {
    user,
    async token() {
      if (!isFresh(cached, Date.now())) cached = await fetchDevToken(user);
      return cached;
    },
    signOut() {
      localStorage.removeItem(USER_KEY);
    },
    // A restarted `--ephemeral` stack has a new secret: its old tokens are refused, so fetch anew.
    refused() {
      cached = undefined;
    },
  };
}

/** Signs in as `user`, checking the name with the server first. */
export async function devSignIn(user: string): Promise<AuthSession> {
  const token = await fetchDevToken(user);
  localStorage.setItem(USER_KEY, user);
  return devSession(user, token);
}

/** The user signed in earlier in this browser, if any. */
export function restoreDevSession(): AuthSession | undefined {
  const user = localStorage.getItem(USER_KEY);
  return user ? devSession(user) : undefined;
}

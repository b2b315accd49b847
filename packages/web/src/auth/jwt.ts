/**
 * When a JWT expires, read from its payload without verifying it: the server verifies;
 * the page only needs to know when to fetch a new token or ask the user to sign in again.
 */
export function tokenExpiresAt(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
    const { exp } = JSON.parse(json) as { exp?: unknown };
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Tokens this close to expiry are treated as expired, so a connection does not fail halfway. */
export const EXPIRY_MARGIN_MS = 60_000;

export function isFresh(token: string | undefined, now: number): token is string {
  if (!token) return false;
  const expiresAt = tokenExpiresAt(token);
  return expiresAt === undefined || expiresAt - EXPIRY_MARGIN_MS > now;
}

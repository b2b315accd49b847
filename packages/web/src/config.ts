/// <reference types="vite/client" />
/**
 * What the page needs to know about where it runs, from Vite's build-time environment
 * (`VITE_*`, public by definition: never a secret). Locally nothing is set: the WebSocket
 * API is this origin's /ws and sign-in asks for a user name and calls /dev/token.
 */
export interface OidcConfig {
  /** The issuer, e.g. https://cognito-idp.<region>.amazonaws.com/<pool id>. */
  authority: string;
  clientId: string;
  redirectUri: string;
  scope: string;
}

export interface ClientConfig {
  webSocketUrl: string;
  /** Deployed: sign in with this OIDC provider (authorization code + PKCE). Locally: dev tokens. */
  oidc?: OidcConfig;
}

export function readConfig(env: Record<string, string | undefined> = import.meta.env, origin = window.location.origin): ClientConfig {
  const webSocketUrl = env.VITE_WEBSOCKET_URL || `${origin.replace(/^http/, "ws")}/ws`;
  if (!env.VITE_OIDC_AUTHORITY || !env.VITE_OIDC_CLIENT_ID) return { webSocketUrl };
  return {
    webSocketUrl,
    oidc: {
      authority: env.VITE_OIDC_AUTHORITY.replace(/\/+$/, ""),
      clientId: env.VITE_OIDC_CLIENT_ID,
      redirectUri: env.VITE_OIDC_REDIRECT_URI || `${origin}/`,
      scope: env.VITE_OIDC_SCOPE || "openid email profile",
    },
  };
}

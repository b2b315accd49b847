import type { Chat } from "./chat.ts";

/**
 * The web chat (packages/web, Vite) on S3 + CloudFront. Its configuration is baked in at build
 * time from VITE_* variables: where the WebSocket API is, and the OIDC provider to sign in with.
 */

export const webSettings = {
  path: "packages/web",
  build: { command: "npm run build", output: "dist" },
} as const;

/**
 * The OIDC provider the page signs in with (authorization code + PKCE; e.g. a Cognito user pool
 * and its app client), read when deploying; names as packages/web/src/config.ts reads them.
 * The issuer is the one the token verifier checks. Without these the page has no sign-in.
 */
export function oidcEnvironment(env: Record<string, string | undefined> = process.env): Record<string, string> {
  const pairs = [
    ["VITE_OIDC_AUTHORITY", env.AZUCHI_AUTH_ISSUER],
    ["VITE_OIDC_CLIENT_ID", env.AZUCHI_OIDC_CLIENT_ID],
    ["VITE_OIDC_SCOPE", env.AZUCHI_OIDC_SCOPE],
    ["VITE_OIDC_REDIRECT_URI", env.AZUCHI_OIDC_REDIRECT_URI],
  ] as const;
  return Object.fromEntries(pairs.flatMap(([name, value]) => (value ? [[name, value]] : [])));
}

export function createWeb({ chat }: { chat: Chat }) {
  const web = new sst.aws.StaticSite("Web", {
    ...webSettings,
    environment: {
      VITE_WEBSOCKET_URL: chat.socket.url,
      ...oidcEnvironment(),
    },
  });
  return { web };
}

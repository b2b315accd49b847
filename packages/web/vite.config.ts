import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

/**
 * The built page may run scripts only from its own origin and load no remote images: agent
 * text is untrusted, and a Markdown image is the classic way to leak a conversation to
 * another server. Only in the build: the dev server's React refresh needs an inline script.
 */
function contentSecurityPolicy(): Plugin {
  const policy = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    // The WebSocket API and, deployed, the OIDC provider may live on other origins.
    "connect-src 'self' ws: wss: https:",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join("; ");
  return {
    name: "azuchi-content-security-policy",
    apply: "build",
    transformIndexHtml: () => [{ tag: "meta", attrs: { "http-equiv": "Content-Security-Policy", content: policy }, injectTo: "head-prepend" }],
  };
}

/** `npm run dev -w @azuchi/web` serves the client with hot reload in front of `npm start`'s stack on :3000. */
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react(), contentSecurityPolicy()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    reportCompressedSize: false,
    // One chunk (~150 KB gzipped: React, the Markdown renderer, zod): the page needs all of it at once.
    chunkSizeWarningLimit: 800,
  },
  server: {
    proxy: {
      "/ws": { target: "ws://127.0.0.1:3000", ws: true },
      "/dev": "http://127.0.0.1:3000",
    },
  },
});

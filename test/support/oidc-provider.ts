import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Provider from "oidc-provider";

/**
 * A real OpenID provider (`oidc-provider`, with its development sign-in pages) on this
 * machine: HTTPS with a certificate made for the test (the page must trust it:
 * `ignoreHTTPSErrors`), plus the same provider over plain HTTP for a server-side JWKS
 * fetch that has no way to trust the test's certificate.
 */
export interface TestOidcProvider {
  /** https://127.0.0.1:<port>, the `iss` of its tokens. */
  issuer: string;
  /** The provider's key set over plain HTTP, for the stack's authorizer. */
  jwksUrl: string;
  clientId: string;
  /** Registers the page's redirect URI (known once the stack runs) and starts answering. */
  start(redirectUri: string): void;
  /** Lifetime in seconds of the ID tokens issued from now on. */
  setIdTokenTtl(seconds: number): void;
  stop(): Promise<void>;
}

const CLIENT_ID = "azuchi-web";

/** A self-signed certificate for 127.0.0.1, made with openssl and kept only in memory. */
function testCertificate(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), "azuchi-oidc-"));
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
      { stdio: "ignore" },
    );
    return { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const listen = (server: Server) =>
  new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });

export async function startOidcProvider(): Promise<TestOidcProvider> {
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const serve = (req: IncomingMessage, res: ServerResponse) => (handle ? handle(req, res) : res.writeHead(503).end());
  const https = createHttpsServer(testCertificate(), serve);
  const http = createHttpServer(serve);
  const [httpsPort, httpPort] = await Promise.all([listen(https), listen(http)]);
  const issuer = `https://127.0.0.1:${httpsPort}`;
  let idTokenTtl = 600;
  const signingKey = { ...generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }), kid: "test-key", alg: "RS256", use: "sig" };

  return {
    issuer,
    jwksUrl: `http://127.0.0.1:${httpPort}/jwks`,
    clientId: CLIENT_ID,
    setIdTokenTtl(seconds) {
      idTokenTtl = seconds;
    },
    start(redirectUri) {
      const provider = new Provider(issuer, {
        clients: [{ client_id: CLIENT_ID, token_endpoint_auth_method: "none", application_type: "web", redirect_uris: [redirectUri], grant_types: ["authorization_code"], response_types: ["code"] }],
        // The development sign-in pages: any login name, any password.
        features: { devInteractions: { enabled: true } },
        async findAccount(_ctx, sub) {
          return { accountId: sub, claims: async () => ({ sub, email: `${sub}@example.test` }) };
        },
        claims: { openid: ["sub"], email: ["email"] },
        jwks: { keys: [signingKey] },
        cookies: { keys: [randomBytes(32).toString("hex")] },
        ttl: { IdToken: () => idTokenTtl, AccessToken: 600, AuthorizationCode: 60, Grant: 3600, Interaction: 600, Session: 3600 },
        clientBasedCORS: (_ctx, origin) => origin === new URL(redirectUri).origin,
      });
      handle = provider.callback();
    },
    async stop() {
      for (const server of [https, http]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

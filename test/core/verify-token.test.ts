import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTokenVerifier,
  InvalidTokenError,
  TokenKeysUnavailableError,
  type TokenVerifier,
} from "@azuchi/core/auth";
import { freePort } from "../support/ports.ts";

const SECRET = "a-shared-secret-of-at-least-32-bytes!!";
const ISSUER = "https://issuer.example";
const AUDIENCE = "azuchi-web";

let jwksServer: Server;
let jwksUrl: string;
let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
let stranger: { privateKey: CryptoKey; publicKey: CryptoKey };
let jwksRequests = 0;
let verify: TokenVerifier;

/** The issuer's public keys, served as an OIDC provider does. */
beforeAll(async () => {
  rsa = await generateKeyPair("RS256", { extractable: true });
  ec = await generateKeyPair("ES256", { extractable: true });
  stranger = await generateKeyPair("RS256", { extractable: true });
  const keys = [
    { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
    { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
  ];
  jwksServer = createServer((_req, res) => {
    jwksRequests++;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  verify = createTokenVerifier({ hmacSecret: SECRET, jwksUrl, issuer: ISSUER, audience: AUDIENCE });
});
afterAll(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())));

const now = () => Math.floor(Date.now() / 1000);
const standard = (): JWTPayload => ({ sub: "alice", iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 600 });

function hs256(payload: JWTPayload, secret: string | Uint8Array = SECRET, alg = "HS256"): Promise<string> {
  const key = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  return new SignJWT(payload).setProtectedHeader({ alg, typ: "JWT" }).sign(key);
}
function signed(payload: JWTPayload, kind: "rsa" | "ec" | "stranger" = "rsa"): Promise<string> {
  const { privateKey } = kind === "rsa" ? rsa : kind === "ec" ? ec : stranger;
  return new SignJWT(payload).setProtectedHeader({ alg: kind === "ec" ? "ES256" : "RS256", kid: kind === "ec" ? "ec-1" : "rsa-1" }).sign(privateKey);
}
function tamper(token: string, change: (payload: Record<string, unknown>) => void): string {
  const [header, payload, signature] = token.split(".") as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
  change(claims);
  return [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join(".");
}

async function refusal(token: string | undefined, verifier = verify): Promise<string> {
  try {
    await verifier(token);
  } catch (error) {
    if (error instanceof InvalidTokenError) return error.reason;
    throw error;
  }
  return "accepted";
}

describe("the token verifier", () => {
  it("accepts HS256 with the shared secret, and RS256 and ES256 against the issuer's JWKS; sub is the userId", async () => {
    await expect(verify(await hs256(standard()))).resolves.toMatchObject({ userId: "alice" });
    await expect(verify(await signed({ ...standard(), sub: "bob" }, "rsa"))).resolves.toMatchObject({ userId: "bob" });
    await expect(verify(await signed({ ...standard(), sub: "carol" }, "ec"))).resolves.toMatchObject({ userId: "carol" });
  });

  it("accepts a Cognito access token, whose app client is in client_id rather than aud", async () => {
    const { aud: _aud, ...claims } = standard();
    const access = await signed({ ...claims, token_use: "access", client_id: AUDIENCE });
    await expect(verify(access)).resolves.toMatchObject({ userId: "alice" });
    expect(await refusal(await signed({ ...claims, token_use: "access", client_id: "another-app" }))).toBe("invalid");
    expect(await refusal(await signed({ ...claims, token_use: "id", client_id: AUDIENCE }))).toBe("invalid");
  });

  it("accepts one of several configured audiences", async () => {
    const verifier = createTokenVerifier({ hmacSecret: SECRET, audience: "web, mobile" });
    expect(await refusal(await hs256({ ...standard(), aud: "mobile" }), verifier)).toBe("accepted");
    expect(await refusal(await hs256({ ...standard(), aud: ["other", "web"] }), verifier)).toBe("accepted");
    expect(await refusal(await hs256({ ...standard(), aud: "tv" }), verifier)).toBe("invalid");
  });

  const refused: [string, () => Promise<string | undefined>, string][] = [
    ["no token", async () => undefined, "missing"],
    ["an empty token", async () => "", "missing"],
    ["expired (beyond the 5 s skew)", () => hs256({ ...standard(), exp: now() - 10 }), "expired"],
    ["expired, RS256", () => signed({ ...standard(), exp: now() - 10 }), "expired"],
    ["not yet valid (nbf in a minute)", () => hs256({ ...standard(), nbf: now() + 60 }), "invalid"],
    ["without exp (a token that never expires)", () => hs256({ sub: "alice", iss: ISSUER, aud: AUDIENCE }), "invalid"],
    ["without sub", () => hs256({ ...standard(), sub: undefined }), "invalid"],
    ["with an empty sub", () => hs256({ ...standard(), sub: "" }), "invalid"],
    ["for another audience", () => hs256({ ...standard(), aud: "someone-else" }), "invalid"],
    ["without an audience", () => hs256({ ...standard(), aud: undefined }), "invalid"],
    ["from another issuer", () => signed({ ...standard(), iss: "https://evil.example" }), "invalid"],
    ["HS256 with another secret", () => hs256(standard(), "another-secret-that-is-also-32-bytes-long"), "invalid"],
    ["HS256 whose claims were changed after signing", async () => tamper(await hs256(standard()), (c) => (c.sub = "admin")), "invalid"],
    ["RS256 whose claims were changed after signing", async () => tamper(await signed(standard()), (c) => (c.sub = "admin")), "invalid"],
    ["RS256 signed by a key the issuer does not have, under its kid", () => signed(standard(), "stranger"), "invalid"],
    ["unsigned (alg: none)", async () => new UnsecuredJWT(standard()).encode(), "invalid"],
    ["alg: none with a signature part", async () => `${new UnsecuredJWT(standard()).encode()}c2ln`, "invalid"],
    ["HS256 'signed' with the issuer's RSA public key (PEM)", async () => hs256(standard(), await exportSPKI(rsa.publicKey)), "invalid"],
    ["HS256 'signed' with the issuer's public JWK", async () => hs256(standard(), JSON.stringify(await exportJWK(rsa.publicKey))), "invalid"],
    ["HS512 with the right secret (only HS256 is accepted)", () => hs256(standard(), SECRET, "HS512"), "invalid"],
    ["ES256 relabelled RS256", async () => (await signed(standard(), "ec")).replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: "RS256", kid: "ec-1" })).toString("base64url")), "invalid"],
    ["not a JWT", async () => "not.a.jwt", "invalid"],
    ["two parts", async () => "eyJhbGciOiJIUzI1NiJ9.e30", "invalid"],
    ["a header that is not JSON", async () => `${Buffer.from("{alg").toString("base64url")}.e30.sig`, "invalid"],
    ["over 8 KB", async () => hs256({ ...standard(), pad: "x".repeat(9_000) }), "invalid"],
  ];
  it.each(refused)("refuses a token %s", async (_name, make, reason) => {
    expect(await refusal(await make())).toBe(reason);
  });

  it("refuses every HS256 token when it has no shared secret, whatever key signed it", async () => {
    const oidcOnly = createTokenVerifier({ jwksUrl, issuer: ISSUER, audience: AUDIENCE });
    expect(await refusal(await signed(standard()), oidcOnly)).toBe("accepted");
    expect(await refusal(await hs256(standard()), oidcOnly)).toBe("invalid");
    expect(await refusal(await hs256(standard(), await exportSPKI(rsa.publicKey)), oidcOnly)).toBe("invalid");
  });

  it("refuses RS256 and ES256 tokens when it has no JWKS", async () => {
    const secretOnly = createTokenVerifier({ hmacSecret: SECRET, issuer: ISSUER, audience: AUDIENCE });
    expect(await refusal(await signed(standard()), secretOnly)).toBe("invalid");
    expect(await refusal(await signed(standard(), "ec"), secretOnly)).toBe("invalid");
  });

  it("fetches the JWKS once and reuses it", async () => {
    const fresh = createTokenVerifier({ jwksUrl, issuer: ISSUER, audience: AUDIENCE });
    const before = jwksRequests;
    for (let i = 0; i < 5; i++) await fresh(await signed(standard(), i % 2 ? "ec" : "rsa"));
    expect(jwksRequests - before).toBe(1);
  });

  it("reports an unreachable JWKS as unavailable, not as a bad token (an authorizer fails rather than denies)", async () => {
    const unreachable = createTokenVerifier({ jwksUrl: `http://127.0.0.1:${await freePort()}/jwks.json`, audience: AUDIENCE, issuer: ISSUER });
    await expect(unreachable(await signed(standard()))).rejects.toBeInstanceOf(TokenKeysUnavailableError);
  });

  it("will not start with a JWKS but no issuer or no audience to check (any app of that issuer would be let in)", () => {
    expect(() => createTokenVerifier({ jwksUrl, audience: AUDIENCE })).toThrow(/without an issuer \(AZUCHI_AUTH_ISSUER\)/);
    expect(() => createTokenVerifier({ jwksUrl, issuer: ISSUER })).toThrow(/without an audience \(AZUCHI_AUTH_AUDIENCE\)/);
    expect(() => createTokenVerifier({ jwksUrl, hmacSecret: SECRET, audience: " , " })).toThrow(/audience/);
    expect(() => createTokenVerifier({ jwksUrl })).toThrow(/issuer .* and an audience/);
    // HS256 alone is the local stack's and needs neither.
    expect(() => createTokenVerifier({ hmacSecret: SECRET })).not.toThrow();
  });

  it("will not start with a secret shorter than 32 bytes, or with no key at all", () => {
    expect(() => createTokenVerifier({ hmacSecret: "short" })).toThrow(/32 bytes/);
    expect(() => createTokenVerifier({})).toThrow(/secret or a JWKS/);
  });
});

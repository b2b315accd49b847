import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { optionalStringFromEnv, type Env } from "../env.ts";

export interface TokenVerifierConfig {
  /** Shared secret for HS256 tokens (the local stack's /dev/token signs with it); at least 32 bytes. Empty: HS256 is off. */
  hmacSecret?: string;
  /** An OIDC issuer's JWKS (e.g. Cognito's `https://cognito-idp.{region}.amazonaws.com/{poolId}/.well-known/jwks.json`) for RS256/ES256 tokens. */
  jwksUrl?: string;
  /** Required `iss` when set. */
  issuer?: string;
  /** Accepted audiences (`aud`; for Cognito access tokens, `client_id`). A string may list several, comma-separated. */
  audience?: string | string[];
  /** Clock skew allowed on `exp` and `nbf`, in seconds; default 5. */
  clockToleranceSeconds?: number;
}

export interface VerifiedToken {
  userId: string;
  claims: JWTPayload;
}

export type TokenVerifier = (token: string | undefined) => Promise<VerifiedToken>;

/** Why a token was refused, in words a client can act on. */
export class InvalidTokenError extends Error {
  readonly reason: "missing" | "expired" | "invalid";
  constructor(reason: "missing" | "expired" | "invalid", message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidTokenError";
    this.reason = reason;
  }
}

/**
 * The issuer's keys could not be fetched: not the token's fault, so not a refusal. An
 * authorizer lets it fail (API Gateway answers 500) rather than deny a valid user.
 */
export class TokenKeysUnavailableError extends Error {
  constructor(cause: unknown) {
    super("the token issuer's keys (JWKS) could not be fetched", { cause });
    this.name = "TokenKeysUnavailableError";
  }
}

/** Longer than any real JWT; refused before parsing. */
const MAX_TOKEN_LENGTH = 8 * 1024;
const MIN_SECRET_BYTES = 32;
const ASYMMETRIC = ["RS256", "ES256"];

/** The verifier's configuration as both services read it: the linked AuthSecret plus AZUCHI_AUTH_* variables. */
export function tokenVerifierConfigFromEnv(hmacSecret: string | undefined, env: Env = process.env): TokenVerifierConfig {
  return {
    hmacSecret,
    jwksUrl: optionalStringFromEnv("AZUCHI_AUTH_JWKS_URL", env),
    issuer: optionalStringFromEnv("AZUCHI_AUTH_ISSUER", env),
    audience: optionalStringFromEnv("AZUCHI_AUTH_AUDIENCE", env),
  };
}

/**
 * One verifier for both APIs (docs/architecture.md §7). The algorithm decides the key and each
 * key has its one algorithm family: HS256 only with the shared secret, RS256/ES256 only
 * with the JWKS. So `alg: none`, any other algorithm, and algorithm confusion (an HS256
 * token "signed" with the issuer's public key) are refused. Tokens must carry `sub` (the
 * userId) and `exp`.
 */
export function createTokenVerifier(config: TokenVerifierConfig): TokenVerifier {
  const secret = config.hmacSecret ? new TextEncoder().encode(config.hmacSecret) : undefined;
  if (secret && secret.byteLength < MIN_SECRET_BYTES) {
    throw new Error(`the HS256 secret must be at least ${MIN_SECRET_BYTES} bytes (RFC 7518 §3.2)`);
  }
  const audiences = audienceList(config.audience);
  // An issuer's JWKS signs tokens for every app that issuer serves: without `iss` and `aud`
  // checked, a token for another app (or another tenant of the same provider) would pass.
  if (config.jwksUrl && (!config.issuer || audiences.length === 0)) {
    const missing = [!config.issuer && "an issuer (AZUCHI_AUTH_ISSUER)", audiences.length === 0 && "an audience (AZUCHI_AUTH_AUDIENCE)"].filter(Boolean);
    throw new Error(`a JWKS (AZUCHI_AUTH_JWKS_URL) is configured without ${missing.join(" and ")}: refusing to start`);
  }
  const jwks: JWTVerifyGetKey | undefined = config.jwksUrl ? createRemoteJWKSet(new URL(config.jwksUrl)) : undefined;
  if (!secret && !jwks) throw new Error("token verifier needs an HS256 secret or a JWKS URL");
  const options = {
    issuer: config.issuer || undefined,
    clockTolerance: config.clockToleranceSeconds ?? 5,
    requiredClaims: ["sub", "exp"],
  };

  async function verify(token: string, alg: unknown): Promise<JWTPayload> {
    if (alg === "HS256" && secret) return (await jwtVerify(token, secret, { ...options, algorithms: ["HS256"] })).payload;
    if (typeof alg === "string" && ASYMMETRIC.includes(alg) && jwks) {
      try {
        return (await jwtVerify(token, jwks, { ...options, algorithms: ASYMMETRIC })).payload;
      } catch (error) {
        if (isKeyFetchFailure(error)) throw new TokenKeysUnavailableError(error);
        throw error;
      }
    }
    throw new InvalidTokenError("invalid", `algorithm ${JSON.stringify(alg)} is not accepted`);
  }

  return async (token) => {
    if (!token) throw new InvalidTokenError("missing", "no token");
    if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError("invalid", "token is too long");
    try {
      const { alg } = decodeProtectedHeader(token);
      const payload = await verify(token, alg);
      if (audiences.length > 0 && !hasAudience(payload, audiences)) throw new InvalidTokenError("invalid", "token is for another audience");
      if (typeof payload.sub !== "string" || payload.sub.length === 0 || payload.sub.length > 256) {
        throw new InvalidTokenError("invalid", "token has no usable subject");
      }
      return { userId: payload.sub, claims: payload };
    } catch (error) {
      if (error instanceof InvalidTokenError || error instanceof TokenKeysUnavailableError) throw error;
      if (error instanceof errors.JWTExpired) throw new InvalidTokenError("expired", "token expired", { cause: error });
      throw new InvalidTokenError("invalid", "token is not valid", { cause: error });
    }
  };
}

/** Fetching the JWKS failed (network, timeout, not 200, not a key set), as opposed to the token being wrong. */
function isKeyFetchFailure(error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true;
  return error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error.constructor === errors.JOSEError;
}

function audienceList(audience: TokenVerifierConfig["audience"]): string[] {
  const list = typeof audience === "string" ? audience.split(",") : (audience ?? []);
  return list.map((entry) => entry.trim()).filter(Boolean);
}

/** `aud` as JWT says; Cognito access tokens have no `aud` but name their app client in `client_id`. */
function hasAudience(payload: JWTPayload, audiences: string[]): boolean {
  const aud = typeof payload.aud === "string" ? [payload.aud] : (payload.aud ?? []);
  if (aud.some((entry) => audiences.includes(entry))) return true;
  return payload.aud === undefined && payload.token_use === "access" && typeof payload.client_id === "string" && audiences.includes(payload.client_id);
}

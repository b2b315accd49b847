import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";

export interface TokenVerifierConfig {
  /** Shared secret for HS256 tokens (the local stack's /dev/token signs with it). */
  hmacSecret?: string;
  /** An OIDC issuer's JWKS (e.g. Cognito's) for RS256/ES256 tokens. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

export interface VerifiedToken {
  userId: string;
  claims: JWTPayload;
}

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
 * One verifier for both APIs. Algorithms are pinned per key kind, so `alg: none`
 * and algorithm-confusion tokens (HS256 signed with a public key) are refused.
 */
export function createTokenVerifier(config: TokenVerifierConfig): (token: string | undefined) => Promise<VerifiedToken> {
  const secret = config.hmacSecret ? new TextEncoder().encode(config.hmacSecret) : undefined;
  const jwks: JWTVerifyGetKey | undefined = config.jwksUrl ? createRemoteJWKSet(new URL(config.jwksUrl)) : undefined;
  if (!secret && !jwks) throw new Error("token verifier needs an HS256 secret or a JWKS URL");
  const options = { issuer: config.issuer || undefined, audience: config.audience || undefined };

  return async (token) => {
    if (!token) throw new InvalidTokenError("missing", "no token");
    try {
      const header = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString("utf8")) as { alg?: unknown };
      const { payload } =
        header.alg === "HS256" && secret
          ? await jwtVerify(token, secret, { ...options, algorithms: ["HS256"] })
          : jwks
            ? await jwtVerify(token, jwks, { ...options, algorithms: ["RS256", "ES256"] })
            : await Promise.reject(new InvalidTokenError("invalid", `algorithm ${String(header.alg)} is not accepted`));
      if (typeof payload.sub !== "string" || payload.sub.length === 0 || payload.sub.length > 256) {
        throw new InvalidTokenError("invalid", "token has no usable subject");
      }
      return { userId: payload.sub, claims: payload };
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      if (error instanceof errors.JWTExpired) throw new InvalidTokenError("expired", "token expired", { cause: error });
      throw new InvalidTokenError("invalid", "token is not valid", { cause: error });
    }
  };
}

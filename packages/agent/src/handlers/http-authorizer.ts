import { createTokenVerifier, InvalidTokenError, tokenVerifierConfigFromEnv, type VerifiedToken } from "@azuchi/core/auth";
import { Resource } from "@azuchi/core/resources";
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from "aws-lambda";

let verify: ((token: string | undefined) => Promise<VerifiedToken>) | undefined;

/**
 * The HTTP API's Lambda authorizer (simple responses; identity source the Authorization
 * header). API Gateway's built-in JWT authorizer cannot check HS256, so the same verifier
 * as the WebSocket's decides.
 */
export async function handler(event: APIGatewayRequestAuthorizerEventV2): Promise<APIGatewaySimpleAuthorizerWithContextResult<{ userId: string }>> {
  verify ??= createTokenVerifier(tokenVerifierConfigFromEnv(Resource.AuthSecret.value));
  const header = event.identitySource?.[0] ?? event.headers?.authorization ?? "";
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  try {
    const { userId } = await verify(token);
    return { isAuthorized: true, context: { userId } };
  } catch (error) {
    if (error instanceof InvalidTokenError) return { isAuthorized: false, context: { userId: "" } };
    throw error;
  }
}

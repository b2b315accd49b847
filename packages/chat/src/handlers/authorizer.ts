import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { createTokenVerifier, InvalidTokenError, tokenVerifierConfigFromEnv, type TokenVerifier } from "@azuchi/core/auth";
import { Resource } from "@azuchi/core/resources";
import type { Logger } from "@aws-lambda-powertools/logger";

// Its own small set of dependencies, not deps.ts: the authorizer links only AuthSecret.
// The logger is for refusals only, so it is loaded at the first one, off the cold start.
let logger: Promise<Logger> | undefined;
let verifyToken: TokenVerifier | undefined;

/**
 * The $connect REQUEST authorizer (identity source: the `token` query parameter). Its
 * context's userId reaches every later event of the connection.
 */
export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  verifyToken ??= createTokenVerifier(tokenVerifierConfigFromEnv(Resource.AuthSecret.value));
  try {
    const { userId } = await verifyToken(event.queryStringParameters?.token);
    return policy(userId, "Allow", event.methodArn, { userId });
  } catch (error) {
    if (!(error instanceof InvalidTokenError)) throw error;
    logger ??= import("@aws-lambda-powertools/logger").then(({ Logger }) => new Logger({ serviceName: "azuchi-chat" }));
    (await logger).info("connection refused", { reason: error.reason });
    return policy("anonymous", "Deny", event.methodArn, {});
  }
}

function policy(principalId: string, effect: "Allow" | "Deny", resource: string, context: Record<string, string>): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: { Version: "2012-10-17", Statement: [{ Action: "execute-api:Invoke", Effect: effect, Resource: resource }] },
    context,
  };
}

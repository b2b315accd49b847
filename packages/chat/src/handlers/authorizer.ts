import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { InvalidTokenError } from "@azuchi/core";
import { chatDeps } from "../deps.ts";

/**
 * The $connect REQUEST authorizer (identity source: the `token` query parameter). Its
 * context's userId reaches every later event of the connection.
 */
export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const { verifyToken, logger } = chatDeps();
  try {
    const { userId } = await verifyToken(event.queryStringParameters?.token);
    return policy(userId, "Allow", event.methodArn, { userId });
  } catch (error) {
    if (!(error instanceof InvalidTokenError)) throw error;
    logger.info("connection refused", { reason: error.reason });
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

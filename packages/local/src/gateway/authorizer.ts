import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Statement } from "aws-lambda";
import { invokeLambda, type LambdaHandler } from "../runtime/invoke.ts";
import type { WebSocketAuthorizerContext } from "./websocket-events.ts";

export type RequestAuthorizer = LambdaHandler<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult>;

/** The authorizer's verdict: a context for later events, or the HTTP status that refuses the upgrade. */
export type AuthorizerVerdict =
  | { allowed: true; context: WebSocketAuthorizerContext }
  | { allowed: false; status: 401 | 403 | 500; error?: unknown };

/**
 * Runs a REQUEST authorizer as API Gateway does: a thrown "Unauthorized" is a
 * 401, any other failure or a malformed result a 500, a policy that does not
 * allow execute-api:Invoke on the method ARN a 403.
 */
export async function runAuthorizer(
  authorizer: RequestAuthorizer,
  event: APIGatewayRequestAuthorizerEvent,
  functionName: string,
): Promise<AuthorizerVerdict> {
  let result: APIGatewayAuthorizerResult;
  try {
    result = await invokeLambda(authorizer, event, { functionName });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message === "Unauthorized") return { allowed: false, status: 401 };
    return { allowed: false, status: 500, error };
  }
  if (typeof result !== "object" || result === null || typeof result.principalId !== "string" || typeof result.policyDocument !== "object") {
    return { allowed: false, status: 500, error: new Error("the authorizer returned no principalId and policyDocument") };
  }
  const context = result.context ?? {};
  // API Gateway refuses (500) a context holding objects or arrays: values must be primitives.
  for (const value of Object.values(context)) {
    if (value !== null && value !== undefined && typeof value === "object") {
      return { allowed: false, status: 500, error: new Error("authorizer context values must be strings, numbers, booleans or null") };
    }
  }
  if (policyEffect(result.policyDocument.Statement, event.methodArn) !== "Allow") return { allowed: false, status: 403 };
  const kept: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(context)) if (value !== undefined) kept[key] = value;
  return { allowed: true, context: { ...kept, principalId: result.principalId } };
}

/** An explicit Deny wins over an Allow; with neither, access is denied. */
export function policyEffect(statements: Statement[] | Statement | undefined, methodArn: string): "Allow" | "Deny" {
  const list = statements === undefined ? [] : Array.isArray(statements) ? statements : [statements];
  let allowed = false;
  for (const statement of list) {
    const fields = statement as { Effect?: string; Action?: string | string[]; Resource?: string | string[] };
    const covers =
      asList(fields.Action).some((action) => globMatches(action.toLowerCase(), "execute-api:invoke")) &&
      asList(fields.Resource).some((resource) => globMatches(resource, methodArn));
    if (!covers) continue;
    if (fields.Effect === "Deny") return "Deny";
    if (fields.Effect === "Allow") allowed = true;
  }
  return allowed ? "Allow" : "Deny";
}

function asList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** IAM wildcards: `*` any run of characters, `?` one character. */
function globMatches(pattern: string, value: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${source}$`).test(value);
}

import type { APIGatewayProxyResultV2 } from "aws-lambda";
import type { LambdaHandler } from "../runtime/invoke.ts";
import type { RequestAuthorizer } from "./authorizer.ts";
import type { WebSocketEvent } from "./websocket-events.ts";

export type WebSocketRouteHandler = LambdaHandler<WebSocketEvent, APIGatewayProxyResultV2 | void>;

export interface WebSocketRoutes {
  /** A REQUEST authorizer on `$connect` only, identity source `route.request.querystring.token`. */
  authorizer?: RequestAuthorizer;
  /** Keyed by route key: "$connect", "$disconnect", "$default", and action names such as "putMessage". */
  routes: Record<string, WebSocketRouteHandler>;
}

/**
 * Route selection `$request.body.action`: a text frame that is a JSON object
 * whose `action` names a route goes to that route; anything else to `$default`.
 * The reserved keys cannot be chosen by a client.
 */
export function selectRoute(routes: WebSocketRoutes["routes"], frame: Buffer, isBinary: boolean): string {
  if (isBinary) return "$default";
  let body: unknown;
  try {
    body = JSON.parse(frame.toString("utf8"));
  } catch {
    return "$default";
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "$default";
  const action = (body as { action?: unknown }).action;
  if (typeof action !== "string" || action.startsWith("$") || !Object.hasOwn(routes, action)) return "$default";
  return action;
}

/** A proxy result's status: a missing result or one without statusCode is a 200, as API Gateway reads it. */
export function statusOf(result: APIGatewayProxyResultV2 | void): number {
  if (typeof result === "object" && result !== null && typeof result.statusCode === "number") return result.statusCode;
  return 200;
}

/** The subprotocol `$connect` chose, which API Gateway echoes in Sec-WebSocket-Protocol. */
export function subprotocolOf(result: APIGatewayProxyResultV2 | void): string | undefined {
  if (typeof result !== "object" || result === null || result.headers === undefined) return undefined;
  for (const [name, value] of Object.entries(result.headers)) {
    if (name.toLowerCase() === "sec-websocket-protocol") return String(value);
  }
  return undefined;
}

/** The frame API Gateway sends a client when a route fails (5xx or a thrown error). */
export function internalErrorFrame(connectionId: string, requestId: string): string {
  return JSON.stringify({ message: "Internal server error", connectionId, requestId });
}

/** The frame API Gateway sends when no route matches and there is no `$default`. */
export function forbiddenFrame(connectionId: string, requestId: string): string {
  return JSON.stringify({ message: "Forbidden", connectionId, requestId });
}

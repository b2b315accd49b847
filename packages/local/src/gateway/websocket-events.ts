import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { APIGatewayRequestAuthorizerEvent } from "aws-lambda";

/**
 * The event API Gateway gives a WebSocket route's Lambda (proxy integration).
 * Our own type: `APIGatewayProxyWebsocketEventV2` in @types/aws-lambda claims a
 * `messageId` on every event, but `$connect` and `$disconnect` carry none.
 */
export interface WebSocketEvent {
  requestContext: WebSocketRequestContext;
  /** `$connect` only: the upgrade request's headers, as the client spelled them. */
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  /** `$connect` only, and only when the URL has a query string. */
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  /** MESSAGE only: the frame, base64 when it was binary. */
  body?: string;
  isBase64Encoded: boolean;
}

export interface WebSocketRequestContext {
  routeKey: string;
  eventType: "CONNECT" | "MESSAGE" | "DISCONNECT";
  connectionId: string;
  connectedAt: number;
  domainName: string;
  stage: string;
  apiId: string;
  requestId: string;
  extendedRequestId: string;
  requestTime: string;
  requestTimeEpoch: number;
  messageDirection: "IN";
  /** MESSAGE only. */
  messageId?: string;
  identity: { sourceIp: string; userAgent?: string };
  /** Every event after an authorized `$connect`: the authorizer's context plus its principalId. */
  authorizer?: WebSocketAuthorizerContext;
  /** DISCONNECT only. */
  disconnectStatusCode?: number;
  disconnectReason?: string;
}

export type WebSocketAuthorizerContext = { principalId: string } & Record<string, string | number | boolean | null>;

/** The API's coordinates, fixed for the gateway's life. */
export interface ApiCoordinates {
  apiId: string;
  stage: string;
  domainName: string;
  region: string;
  accountId: string;
}

/** What one connection contributes to every event it causes. */
export interface ConnectionIdentity {
  connectionId: string;
  connectedAt: number;
  sourceIp: string;
  userAgent: string | undefined;
  authorizer: WebSocketAuthorizerContext | undefined;
}

/** The parts of the upgrade request that `$connect` and the authorizer see. */
export interface UpgradeRequest {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  query: Record<string, string>;
  multiValueQuery: Record<string, string[]>;
  sourceIp: string;
  userAgent: string | undefined;
}

/** An id shaped like API Gateway's connection and request ids (`H0zlrcJgtjMCEHA=`): 11 random bytes, base64. */
export function gatewayId(): string {
  return randomBytes(11).toString("base64");
}

export function readUpgradeRequest(req: IncomingMessage): UpgradeRequest {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  // rawHeaders keeps the client's spelling ("Sec-WebSocket-Key"), as API Gateway passes it on.
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const value = req.rawHeaders[i + 1] as string;
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  const multiValueQuery: Record<string, string[]> = {};
  const url = new URL(req.url ?? "/", "http://gateway.local");
  for (const [name, value] of url.searchParams) {
    query[name] = value; // the last value wins, as API Gateway does
    (multiValueQuery[name] ??= []).push(value);
  }
  const address = req.socket.remoteAddress ?? "127.0.0.1";
  return {
    headers,
    multiValueHeaders,
    query,
    multiValueQuery,
    sourceIp: address.startsWith("::ffff:") ? address.slice("::ffff:".length) : address,
    userAgent: req.headers["user-agent"],
  };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;

/** `09/Apr/2020:18:03:41 +0000`, API Gateway's requestTime (Common Log Format). */
export function requestTime(epochMs: number): string {
  const date = new Date(epochMs);
  // Not toLocaleString: ICU's formatter costs about 80 µs a call here, a table lookup 0.5 µs.
  const month = MONTHS[date.getUTCMonth()]!;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${month}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

function requestContext(
  api: ApiCoordinates,
  connection: ConnectionIdentity,
  routeKey: string,
  eventType: WebSocketRequestContext["eventType"],
): WebSocketRequestContext {
  const now = Date.now();
  const context: WebSocketRequestContext = {
    routeKey,
    eventType,
    extendedRequestId: gatewayId(),
    requestTime: requestTime(now),
    messageDirection: "IN",
    stage: api.stage,
    connectedAt: connection.connectedAt,
    requestTimeEpoch: now,
    identity: { sourceIp: connection.sourceIp, ...(connection.userAgent === undefined ? {} : { userAgent: connection.userAgent }) },
    requestId: gatewayId(),
    domainName: api.domainName,
    connectionId: connection.connectionId,
    apiId: api.apiId,
  };
  if (connection.authorizer !== undefined) context.authorizer = { ...connection.authorizer };
  return context;
}

export function connectEvent(api: ApiCoordinates, connection: ConnectionIdentity, request: UpgradeRequest): WebSocketEvent {
  const event: WebSocketEvent = {
    headers: { ...request.headers },
    multiValueHeaders: structuredClone(request.multiValueHeaders),
    requestContext: requestContext(api, connection, "$connect", "CONNECT"),
    isBase64Encoded: false,
  };
  if (Object.keys(request.query).length > 0) {
    event.queryStringParameters = { ...request.query };
    event.multiValueQueryStringParameters = structuredClone(request.multiValueQuery);
  }
  return event;
}

export function messageEvent(api: ApiCoordinates, connection: ConnectionIdentity, routeKey: string, frame: Buffer, isBinary: boolean): WebSocketEvent {
  const context = requestContext(api, connection, routeKey, "MESSAGE");
  context.messageId = gatewayId();
  return {
    requestContext: context,
    body: isBinary ? frame.toString("base64") : frame.toString("utf8"),
    isBase64Encoded: isBinary,
  };
}

export function disconnectEvent(api: ApiCoordinates, connection: ConnectionIdentity, statusCode: number, reason: string): WebSocketEvent {
  const context = requestContext(api, connection, "$disconnect", "DISCONNECT");
  context.disconnectStatusCode = statusCode;
  context.disconnectReason = reason;
  return { requestContext: context, isBase64Encoded: false };
}

export function connectMethodArn(api: ApiCoordinates): string {
  return `arn:aws:execute-api:${api.region}:${api.accountId}:${api.apiId}/${api.stage}/$connect`;
}

/**
 * The REQUEST authorizer event of a WebSocket `$connect`. It has the shape API
 * Gateway sends for WebSocket APIs, which lacks the REST-only fields
 * (resource, path, httpMethod) that the @types declaration requires.
 */
export function authorizerEvent(api: ApiCoordinates, connection: ConnectionIdentity, request: UpgradeRequest): APIGatewayRequestAuthorizerEvent {
  const event = {
    type: "REQUEST",
    methodArn: connectMethodArn(api),
    headers: { ...request.headers },
    multiValueHeaders: structuredClone(request.multiValueHeaders),
    queryStringParameters: { ...request.query },
    multiValueQueryStringParameters: structuredClone(request.multiValueQuery),
    stageVariables: {},
    requestContext: requestContext(api, connection, "$connect", "CONNECT"),
  };
  return event as unknown as APIGatewayRequestAuthorizerEvent;
}

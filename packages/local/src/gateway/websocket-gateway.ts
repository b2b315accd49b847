import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { invokeLambda } from "../runtime/invoke.ts";
import { runAuthorizer } from "./authorizer.ts";
import { Connection, type CloseCause } from "./connection.ts";
import { createManagementHandler } from "./management-api.ts";
import { forbiddenFrame, internalErrorFrame, selectRoute, statusOf, subprotocolOf, type WebSocketRoutes } from "./routes.ts";
import {
  authorizerEvent,
  connectEvent,
  disconnectEvent,
  gatewayId,
  messageEvent,
  readUpgradeRequest,
  type ApiCoordinates,
  type ConnectionIdentity,
  type WebSocketEvent,
} from "./websocket-events.ts";

/** API Gateway's frame limit: a browser cannot split a message, so a client message must fit one frame. */
export const MAX_FRAME_BYTES = 32 * 1024;

export interface WebSocketGatewayOptions extends WebSocketRoutes {
  /** Default "local". */
  stage?: string;
  /** Default "local". */
  apiId?: string;
  /** The host clients use, e.g. "127.0.0.1:3000"; events carry it as requestContext.domainName. */
  domainName?: string;
  /** Default 10 minutes, API Gateway's idle timeout. */
  idleTimeoutMs?: number;
  /** Default 2 hours, API Gateway's maximum connection duration. */
  maxConnectionMs?: number;
  /** Failures of the authorizer and the routes; default: logged to stderr. Never thrown. */
  onError?: (error: unknown) => void;
}

export interface WebSocketGateway {
  /** For HTTP upgrades on the WebSocket path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** For requests under `managementPath` (the `@connections` API). */
  handleManagementRequest(req: IncomingMessage, res: ServerResponse): void;
  /** `/_gateway/{stage}`: the management client's endpoint is the server's base URL plus this path. */
  managementPath: string;
  connectionCount(): number;
  /** Closes every socket (running `$disconnect` for each) and waits for the handlers in flight. */
  close(): Promise<void>;
}

/** The close codes ws sends for the protocol errors a client can cause. */
const PROTOCOL_CLOSE_CODES: Record<string, number> = { WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009, WS_ERR_INVALID_UTF8: 1007 };

/** The body API Gateway answers a refused upgrade with. */
const REFUSAL_MESSAGES: Record<number, string> = { 401: "Unauthorized", 403: "Forbidden", 500: "Internal server error" };

/**
 * A local API Gateway WebSocket API: `$connect` (behind an optional REQUEST
 * authorizer) decides whether the upgrade succeeds, frames are routed by
 * `$request.body.action`, `$disconnect` follows every close, and the
 * `@connections` management API reaches the open sockets.
 */
export function createWebSocketGateway(options: WebSocketGatewayOptions): WebSocketGateway {
  const api: ApiCoordinates = {
    apiId: options.apiId ?? "local",
    stage: options.stage ?? "local",
    domainName: options.domainName ?? "127.0.0.1",
    region: "us-east-1",
    accountId: "000000000000",
  };
  const limits = { idleTimeoutMs: options.idleTimeoutMs ?? 10 * 60_000, maxConnectionMs: options.maxConnectionMs ?? 2 * 60 * 60_000 };
  const onError = options.onError ?? ((error: unknown) => console.error("[websocket-gateway]", error));
  const { routes } = options;
  const connections = new Map<string, Connection>();
  /** Upgrades being decided and connections not yet through `$disconnect`: close() waits for them. */
  const inFlight = new Set<Promise<void>>();
  const subprotocols = new WeakMap<IncomingMessage, string>();
  const managementPath = `/_gateway/${api.stage}`;
  let closing = false;

  const server = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    // ws would otherwise accept the client's first subprotocol; API Gateway only echoes the one $connect returned.
    handleProtocols: (offered, req) => {
      const chosen = subprotocols.get(req);
      return chosen !== undefined && offered.has(chosen) ? chosen : false;
    },
  });

  function track(work: Promise<void>): void {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  }

  function invokeRoute(routeKey: string, event: WebSocketEvent) {
    const handler = routes[routeKey];
    if (handler === undefined) return Promise.resolve(undefined);
    return invokeLambda(handler, event, { functionName: `${api.apiId}-${routeKey.replace("$", "")}` });
  }

  async function decideUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    let socketGone = false;
    const onSocketClose = () => (socketGone = true);
    // Until ws owns the socket, a client reset must not become an unhandled error.
    const ignoreSocketError = () => undefined;
    socket.on("error", ignoreSocketError);
    socket.once("close", onSocketClose);
    const release = () => {
      socket.removeListener("error", ignoreSocketError);
      socket.removeListener("close", onSocketClose);
    };

    const request = readUpgradeRequest(req);
    const identity: ConnectionIdentity = {
      connectionId: gatewayId(),
      connectedAt: Date.now(),
      sourceIp: request.sourceIp,
      userAgent: request.userAgent,
      authorizer: undefined,
    };
    if (options.authorizer !== undefined) {
      // Identity source route.request.querystring.token: without it API Gateway answers 401 and never calls the authorizer.
      if (!request.query.token) return refuse(socket, 401);
      const verdict = await runAuthorizer(options.authorizer, authorizerEvent(api, identity, request), `${api.apiId}-authorizer`);
      if (!verdict.allowed) {
        if (verdict.error !== undefined) onError(verdict.error);
        return refuse(socket, verdict.status);
      }
      identity.authorizer = verdict.context;
    }

    const connectRan = routes.$connect !== undefined;
    try {
      const result = await invokeRoute("$connect", connectEvent(api, identity, request));
      const status = statusOf(result);
      if (status < 200 || status > 299) return refuse(socket, status);
      const subprotocol = subprotocolOf(result);
      if (subprotocol !== undefined) subprotocols.set(req, subprotocol);
    } catch (error) {
      onError(error);
      return refuse(socket, 500);
    }

    if (socketGone || closing) {
      refuse(socket, 503);
      // $connect may have recorded the connection; its $disconnect lets that record be cleaned up.
      if (connectRan) await runDisconnect(identity, { statusCode: 1006, reason: "Connection closed before it was established" });
      return;
    }
    release();
    server.handleUpgrade(req, socket, head, (ws) => open(ws, identity));
  }

  function open(ws: WebSocket, identity: ConnectionIdentity): void {
    const connection = new Connection(identity, ws, limits);
    connections.set(connection.id, connection);
    ws.on("message", (data, isBinary) => {
      connection.touch();
      const frame = toBuffer(data);
      void connection.handle(() => handleFrame(connection, frame, isBinary));
    });
    ws.on("ping", () => connection.touch());
    ws.on("error", (error: Error & { code?: string }) => {
      // ws has already sent the close frame for a protocol error; remember which, for $disconnect.
      const statusCode = PROTOCOL_CLOSE_CODES[error.code ?? ""] ?? 1002;
      connection.noteProtocolClose({ statusCode, reason: statusCode === 1009 ? "Message too big" : error.message });
    });
    track(
      new Promise<void>((resolve) => {
        ws.once("close", (code, reason) => {
          connections.delete(connection.id);
          const cause = connection.closed(code, reason.toString("utf8"));
          void connection.drained().then(() => runDisconnect(identity, cause)).then(resolve);
        });
      }),
    );
  }

  async function handleFrame(connection: Connection, frame: Buffer, isBinary: boolean): Promise<void> {
    const routeKey = selectRoute(routes, frame, isBinary);
    const event = messageEvent(api, connection.identity, routeKey, frame, isBinary);
    const { requestId } = event.requestContext;
    if (routes[routeKey] === undefined) return connection.send(forbiddenFrame(connection.id, requestId));
    try {
      const result = await invokeRoute(routeKey, event);
      // SST creates no route responses: a handler's body never reaches the client, only a failure does.
      if (statusOf(result) >= 500) connection.send(internalErrorFrame(connection.id, requestId));
    } catch (error) {
      onError(error);
      connection.send(internalErrorFrame(connection.id, requestId));
    }
  }

  async function runDisconnect(identity: ConnectionIdentity, cause: CloseCause): Promise<void> {
    try {
      await invokeRoute("$disconnect", disconnectEvent(api, identity, cause.statusCode, cause.reason));
    } catch (error) {
      onError(error);
    }
  }

  const handleManagementRequest = createManagementHandler(managementPath, connections);

  return {
    managementPath,
    handleManagementRequest,
    handleUpgrade(req, socket, head) {
      if (closing) return refuse(socket, 503);
      if (req.headers.upgrade?.toLowerCase() !== "websocket" || req.headers["sec-websocket-key"] === undefined) return refuse(socket, 400);
      track(
        decideUpgrade(req, socket, head).catch((error: unknown) => {
          onError(error);
          refuse(socket, 500);
        }),
      );
    },
    connectionCount: () => connections.size,
    async close() {
      closing = true;
      for (const connection of connections.values()) connection.close({ statusCode: 1001, reason: "Going away" });
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Answers an upgrade with a plain HTTP error, as API Gateway refuses a connection. */
function refuse(socket: Duplex, status: number): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ message: REFUSAL_MESSAGES[status] ?? STATUS_CODES[status] ?? "Error" });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

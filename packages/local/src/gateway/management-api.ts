import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Connection } from "./connection.ts";

/** API Gateway's limit on one message posted to a connection. */
export const MAX_POST_BYTES = 128 * 1024;

export interface ConnectionLookup {
  get(connectionId: string): Connection | undefined;
}

/**
 * The `@connections` management API (REST JSON, as the ApiGatewayManagementApi
 * client speaks it): POST sends a frame, GET describes the connection, DELETE
 * closes it; a connection that is not open (unknown, closed, or still in
 * `$connect`) answers 410 GoneException.
 */
export function createManagementHandler(managementPath: string, connections: ConnectionLookup): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const connectionId = connectionIdOf(req.url ?? "", managementPath);
    if (connectionId === undefined) {
      req.resume();
      return sendError(res, 404, "NotFoundException", `No method found matching route ${req.url ?? ""}`);
    }
    const connection = connections.get(connectionId);
    if (req.method === "POST") return post(req, res, connectionId, connection);
    req.resume();
    if (connection === undefined || !connection.isOpen) return gone(res, connectionId);
    if (req.method === "GET") return get(res, connection);
    if (req.method === "DELETE") {
      connection.close({ statusCode: 1000, reason: "Connection closed by the server" });
      res.writeHead(204, { "x-amzn-RequestId": randomUUID() }).end();
      return;
    }
    sendError(res, 405, "MethodNotAllowedException", `Method ${req.method ?? ""} is not allowed on @connections`);
  };
}

/** The connection id of `${managementPath}/@connections/{id}`; the SDK URL-encodes it (ids end in `=`). */
function connectionIdOf(url: string, managementPath: string): string | undefined {
  const path = url.split("?")[0] ?? "";
  const prefix = `${managementPath}/`;
  if (!path.startsWith(prefix)) return undefined;
  const segments = path.slice(prefix.length).split("/");
  if (segments.length !== 2 || decode(segments[0] ?? "") !== "@connections") return undefined;
  const id = decode(segments[1] ?? "");
  return id === undefined || id === "" ? undefined : id;
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function post(req: IncomingMessage, res: ServerResponse, connectionId: string, connection: Connection | undefined): void {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_POST_BYTES) {
    req.resume();
    return tooLarge(res);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_POST_BYTES) refused = true;
    else chunks.push(chunk);
  });
  req.on("end", () => {
    if (refused) return tooLarge(res);
    // Checked at the end: the socket may have closed while the body arrived.
    if (connection === undefined || !connection.isOpen) return gone(res, connectionId);
    connection.send(Buffer.concat(chunks));
    res.writeHead(200, { "x-amzn-RequestId": randomUUID(), "Content-Type": "application/json", "Content-Length": 2 }).end("{}");
  });
  req.on("error", () => res.destroy());
}

function get(res: ServerResponse, connection: Connection): void {
  const { identity } = connection;
  sendJson(res, 200, {
    connectedAt: new Date(identity.connectedAt).toISOString(),
    identity: { sourceIp: identity.sourceIp, ...(identity.userAgent === undefined ? {} : { userAgent: identity.userAgent }) },
    lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
  });
}

function gone(res: ServerResponse, connectionId: string): void {
  sendError(res, 410, "GoneException", `Connection ${connectionId} is gone`);
}

function tooLarge(res: ServerResponse): void {
  sendError(res, 413, "PayloadTooLargeException", `Message too long: the limit is ${MAX_POST_BYTES} bytes`);
}

/** The SDK takes the error's name from x-amzn-ErrorType and its message from the body. */
function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { message }, { "x-amzn-ErrorType": type });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      ...headers,
      "x-amzn-RequestId": randomUUID(),
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(text),
    })
    .end(text);
}

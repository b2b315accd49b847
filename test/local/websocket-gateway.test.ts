import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { createWebSocketGateway, type WebSocketEvent, type WebSocketGatewayOptions } from "../../packages/local/src/gateway/index.ts";
import { requestTime } from "../../packages/local/src/gateway/websocket-events.ts";

interface Stack {
  wsUrl: string;
  /** What the gateway reported through onError. */
  errors: unknown[];
  management: ApiGatewayManagementApiClient;
  gateway: ReturnType<typeof createWebSocketGateway>;
}
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** The gateway mounted on an HTTP server the way the local stack mounts it: upgrades on /ws, the management path. */
async function startStack(options: WebSocketGatewayOptions): Promise<Stack> {
  const errors: unknown[] = [];
  // Listen first: the gateway's domainName carries the port.
  const mounted: { gateway?: ReturnType<typeof createWebSocketGateway> } = {};
  const server = createServer((req, res) => {
    if (mounted.gateway && req.url?.startsWith(`${mounted.gateway.managementPath}/`)) mounted.gateway.handleManagementRequest(req, res);
    else res.writeHead(404).end();
  });
  server.on("upgrade", (req, socket, head) => {
    if (mounted.gateway && req.url?.startsWith("/ws")) mounted.gateway.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const gateway = createWebSocketGateway({ onError: (error) => errors.push(error), domainName: `127.0.0.1:${port}`, ...options });
  mounted.gateway = gateway;
  const management = new ApiGatewayManagementApiClient({
    endpoint: `http://127.0.0.1:${port}${gateway.managementPath}`,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const sockets: WebSocket[] = [];
  stops.push(async () => {
    for (const socket of sockets) socket.terminate();
    await gateway.close();
    management.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { wsUrl: `ws://127.0.0.1:${port}/ws`, errors, management, gateway };
}

function open(url: string, headers: Record<string, string> = { "User-Agent": "azuchi-test" }): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once("open", () => resolve(socket));
    socket.once("unexpected-response", (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    socket.once("error", reject);
  });
}

/** The HTTP status a refused upgrade was answered with. */
function refusal(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once("open", () => reject(new Error("the connection opened")));
    socket.once("unexpected-response", (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    socket.once("error", () => undefined);
  });
}

function nextMessages(socket: WebSocket, count: number): Promise<{ data: string; isBinary: boolean }[]> {
  const received: { data: string; isBinary: boolean }[] = [];
  return new Promise((resolve) => {
    const listener = (data: Buffer, isBinary: boolean) => {
      received.push({ data: data.toString("utf8"), isBinary });
      if (received.length < count) return;
      socket.off("message", listener);
      resolve(received);
    };
    socket.on("message", listener);
  });
}

function closeOf(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

function allow(principalId: string, context: Record<string, string>, effect: "Allow" | "Deny" = "Allow", resource = "arn:aws:execute-api:us-east-1:000000000000:local/local/*"): APIGatewayAuthorizerResult {
  return { principalId, context, policyDocument: { Version: "2012-10-17", Statement: [{ Effect: effect, Action: "execute-api:Invoke", Resource: resource }] } };
}

/** Handlers that record their events; `$disconnect` resolves `disconnected`. */
function recorder() {
  const events: WebSocketEvent[] = [];
  const disconnected = deferred<WebSocketEvent>();
  const record = async (event: WebSocketEvent) => void events.push(event);
  return {
    events,
    disconnected: disconnected.promise,
    routes: {
      $connect: record,
      $default: record,
      putMessage: record,
      $disconnect: async (event: WebSocketEvent) => (events.push(event), disconnected.resolve(event)),
    },
  };
}

describe("WebSocket gateway: $connect and the authorizer", () => {
  it("opens the socket only after $connect returns, with an API Gateway CONNECT event", async () => {
    const release = deferred();
    const connectEvents: WebSocketEvent[] = [];
    const { wsUrl } = await startStack({ routes: { $connect: async (event) => (connectEvents.push(event), await release.promise) } });
    let opened = false;
    const socket = open(`${wsUrl}?sessionId=s1`).then((s) => ((opened = true), s));
    await sleep(100);
    expect(connectEvents).toHaveLength(1);
    expect(opened).toBe(false);
    release.resolve();
    await socket;
    const [event] = connectEvents;
    expect(event?.requestContext).toMatchObject({ routeKey: "$connect", eventType: "CONNECT", stage: "local", apiId: "local", messageDirection: "IN", identity: { sourceIp: "127.0.0.1", userAgent: "azuchi-test" } });
    expect(event?.requestContext.connectionId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(event?.requestContext.domainName).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(event?.queryStringParameters).toEqual({ sessionId: "s1" });
    expect(event?.headers?.["User-Agent"]).toBe("azuchi-test");
  });

  it("gives every connection a fresh random id", async () => {
    const { events, routes } = recorder();
    const { wsUrl } = await startStack({ routes });
    await Promise.all([open(wsUrl), open(wsUrl), open(wsUrl)]);
    expect(new Set(events.map((e) => e.requestContext.connectionId)).size).toBe(3);
  });

  it("refuses with 401 and never calls the authorizer when the token query parameter is missing", async () => {
    let calls = 0;
    const { wsUrl } = await startStack({ authorizer: async () => (calls++, allow("alice", {})), routes: {} });
    expect(await refusal(wsUrl)).toBe(401);
    expect(calls).toBe(0);
  });

  it("calls the authorizer with a REQUEST event and gives its context and principalId to every later event", async () => {
    const authorizerEvents: APIGatewayRequestAuthorizerEvent[] = [];
    const { events, routes, disconnected } = recorder();
    const { wsUrl } = await startStack({ authorizer: async (event) => (authorizerEvents.push(event), allow("alice", { userId: "alice" })), routes });
    const socket = await open(`${wsUrl}?token=t0k3n`);
    socket.send(JSON.stringify({ action: "putMessage" }));
    await waitFor(() => events.length === 2);
    socket.close();
    await disconnected;
    expect(authorizerEvents[0]).toMatchObject({ type: "REQUEST", methodArn: "arn:aws:execute-api:us-east-1:000000000000:local/local/$connect", queryStringParameters: { token: "t0k3n" } });
    expect(authorizerEvents[0]?.requestContext).toMatchObject({ routeKey: "$connect", eventType: "CONNECT" });
    expect(events.map((e) => e.requestContext.routeKey)).toEqual(["$connect", "putMessage", "$disconnect"]);
    for (const event of events) expect(event.requestContext.authorizer).toEqual({ userId: "alice", principalId: "alice" });
  });

  it("refuses with 403 when the policy denies or does not cover $connect", async () => {
    const { wsUrl: denied } = await startStack({ authorizer: async () => allow("alice", {}, "Deny"), routes: {} });
    expect(await refusal(`${denied}?token=x`)).toBe(403);
    const { wsUrl: elsewhere } = await startStack({ authorizer: async () => allow("alice", {}, "Allow", "arn:aws:execute-api:us-east-1:000000000000:other/*"), routes: {} });
    expect(await refusal(`${elsewhere}?token=x`)).toBe(403);
  });

  it("refuses with 500 when the authorizer fails, and with 401 when it throws Unauthorized", async () => {
    const { wsUrl: failing, errors } = await startStack({ authorizer: async () => { throw new Error("boom"); }, routes: {} });
    expect(await refusal(`${failing}?token=x`)).toBe(500);
    expect(String(errors[0])).toContain("boom");
    const { wsUrl: unauthorized } = await startStack({ authorizer: async () => { throw new Error("Unauthorized"); }, routes: {} });
    expect(await refusal(`${unauthorized}?token=x`)).toBe(401);
  });

  it("refuses the upgrade with $connect's non-2xx status, or 500 when $connect throws", async () => {
    let disconnects = 0;
    const $disconnect = async () => void disconnects++;
    const { wsUrl: refusing } = await startStack({ routes: { $connect: async () => ({ statusCode: 404 }), $disconnect } });
    expect(await refusal(refusing)).toBe(404);
    const { wsUrl: throwing } = await startStack({ routes: { $connect: async () => { throw new Error("boom"); }, $disconnect } });
    expect(await refusal(throwing)).toBe(500);
    expect(disconnects).toBe(0);
  });

  it("answers 410 GoneException to a post while $connect is still running", async () => {
    const attempt = deferred<unknown>();
    const stack: Stack = await startStack({
      routes: {
        $connect: async (event) => {
          await stack.management.send(new PostToConnectionCommand({ ConnectionId: event.requestContext.connectionId, Data: "early" })).then(attempt.resolve, attempt.resolve);
        },
      },
    });
    await open(stack.wsUrl);
    const error = (await attempt.promise) as { name: string; $metadata: { httpStatusCode: number } };
    expect(error.name).toBe("GoneException");
    expect(error.$metadata.httpStatusCode).toBe(410);
  });
});

describe("WebSocket gateway: requestTime", () => {
  it("is API Gateway's Common Log Format time in UTC, every month by its English abbreviation", () => {
    expect(requestTime(Date.UTC(2020, 3, 9, 18, 3, 41))).toBe("09/Apr/2020:18:03:41 +0000");
    for (let month = 0; month < 12; month++) {
      const at = Date.UTC(2026, month, 28, 23, 59, 7);
      const name = new Date(at).toLocaleString("en-US", { month: "short", timeZone: "UTC" });
      expect(requestTime(at)).toBe(`28/${name}/2026:23:59:07 +0000`);
    }
  });
});

describe("WebSocket gateway: frames", () => {
  it("routes a JSON object by its action and everything else to $default", async () => {
    const { events, routes } = recorder();
    const { wsUrl } = await startStack({ routes });
    const socket = await open(wsUrl);
    const frames = [JSON.stringify({ action: "putMessage", message: "hi" }), "not json", "[1]", "{}", JSON.stringify({ action: "nope" }), JSON.stringify({ action: "$disconnect" })];
    for (const frame of frames) socket.send(frame);
    socket.send(Buffer.from([1, 2, 3]), { binary: true });
    const messages = () => events.filter((e) => e.requestContext.eventType === "MESSAGE");
    await waitFor(() => messages().length === 7);
    expect(messages().map((e) => e.requestContext.routeKey)).toEqual(["putMessage", "$default", "$default", "$default", "$default", "$default", "$default"]);
    expect(messages().slice(0, 6).map((e) => e.body)).toEqual(frames);
    expect(messages()[6]).toMatchObject({ body: "AQID", isBase64Encoded: true });
    expect(messages()[0]?.requestContext.messageId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
  });

  it("closes the connection with 1009 when a client frame is over 32 KB", async () => {
    const { events, routes, disconnected } = recorder();
    const { wsUrl } = await startStack({ routes });
    const socket = await open(wsUrl);
    socket.send("x".repeat(32 * 1024));
    await waitFor(() => events.length === 2);
    socket.send("x".repeat(32 * 1024 + 1));
    expect((await closeOf(socket)).code).toBe(1009);
    expect((await disconnected).requestContext).toMatchObject({ disconnectStatusCode: 1009 });
    expect(events.filter((e) => e.requestContext.eventType === "MESSAGE")).toHaveLength(1);
  });

  it("handles one connection's frames concurrently, as API Gateway may: a later frame can finish first", async () => {
    const firstStarted = deferred();
    const secondDone = deferred();
    const log: string[] = [];
    const { wsUrl } = await startStack({
      routes: {
        $default: async (event) => {
          log.push(`start ${event.body}`);
          if (event.body === "1") {
            firstStarted.resolve();
            // Finishes only once the frame sent after it has been handled: a serial gateway never gets there.
            await secondDone.promise;
          } else {
            secondDone.resolve();
          }
          log.push(`end ${event.body}`);
        },
      },
    });
    const socket = await open(wsUrl);
    socket.send("1");
    await firstStarted.promise;
    socket.send("2");
    await waitFor(() => log.length === 4);
    expect(log).toEqual(["start 1", "start 2", "end 2", "end 1"]);
  });

  it("runs $disconnect only after the frames in flight have been handled", async () => {
    const release = deferred();
    const log: string[] = [];
    const disconnected = deferred();
    const { wsUrl } = await startStack({
      routes: {
        $default: async (event) => {
          log.push(`start ${event.body}`);
          await release.promise;
          log.push(`end ${event.body}`);
        },
        $disconnect: async () => (log.push("disconnect"), disconnected.resolve()),
      },
    });
    const socket = await open(wsUrl);
    socket.send("a");
    socket.send("b");
    await waitFor(() => log.length === 2);
    // The close is through (the gateway answered it) while both frames are still running.
    const closed = closeOf(socket);
    socket.close();
    await closed;
    expect(log).toEqual(["start a", "start b"]);
    release.resolve();
    await disconnected.promise;
    expect(log.slice(2).sort()).toEqual(["disconnect", "end a", "end b"]);
    expect(log.at(-1)).toBe("disconnect");
  });

  it("handles different connections concurrently", async () => {
    const slowStarted = deferred();
    const fastDone = deferred();
    const { wsUrl } = await startStack({
      routes: {
        $default: async (event) => {
          if (event.body !== "slow") return fastDone.resolve();
          slowStarted.resolve();
          await fastDone.promise;
        },
      },
    });
    const [a, b] = await Promise.all([open(wsUrl), open(wsUrl)]);
    a.send("slow");
    await slowStarted.promise;
    b.send("fast");
    await fastDone.promise; // would never resolve if b waited behind a
  });

  it("sends API Gateway's Internal server error frame when a route throws or answers 5xx, and never a route's body", async () => {
    const requestIds: string[] = [];
    const { wsUrl } = await startStack({
      routes: {
        $default: async (event) => {
          requestIds.push(event.requestContext.requestId);
          if (event.body === "throw") throw new Error("boom");
          return event.body === "fail" ? { statusCode: 502, body: "bad gateway" } : { statusCode: 200, body: "a reply body" };
        },
      },
    });
    const socket = await open(wsUrl);
    const received = nextMessages(socket, 3);
    // The last failure's frame comes after anything the "ok" frames could have caused.
    for (const body of ["ok", "fail", "throw", "ok", "fail"]) socket.send(body);
    const frames = (await received).map((m) => JSON.parse(m.data) as Record<string, string>);
    const connectionId = frames[0]?.connectionId;
    expect(connectionId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(frames).toEqual([1, 2, 4].map((i) => ({ message: "Internal server error", connectionId, requestId: requestIds[i] })));
  });

  it("answers Forbidden when no route matches and there is no $default", async () => {
    const { wsUrl } = await startStack({ routes: { putMessage: async () => undefined } });
    const socket = await open(wsUrl);
    const received = nextMessages(socket, 1);
    socket.send(JSON.stringify({ action: "unknown" }));
    expect(JSON.parse((await received)[0]?.data ?? "")).toMatchObject({ message: "Forbidden" });
  });
});

describe("WebSocket gateway: $disconnect", () => {
  it("runs $disconnect after a client close, with its status code and reason", async () => {
    const { routes, disconnected } = recorder();
    const { wsUrl, gateway } = await startStack({ routes });
    const socket = await open(wsUrl);
    socket.close(4000, "bye");
    expect((await disconnected).requestContext).toMatchObject({ routeKey: "$disconnect", eventType: "DISCONNECT", disconnectStatusCode: 4000, disconnectReason: "bye" });
    expect(gateway.connectionCount()).toBe(0);
  });

  it("closes an idle connection with 1001 after idleTimeoutMs", async () => {
    const { routes, disconnected } = recorder();
    const { wsUrl } = await startStack({ routes, idleTimeoutMs: 300 });
    const socket = await open(wsUrl);
    const closed = closeOf(socket);
    for (let i = 0; i < 3; i++) {
      await sleep(100);
      socket.send("still here");
    }
    expect(socket.readyState).toBe(WebSocket.OPEN);
    expect((await closed).code).toBe(1001);
    expect((await disconnected).requestContext).toMatchObject({ disconnectStatusCode: 1001, disconnectReason: "Going away" });
  });

  it("closes a connection at maxConnectionMs even while it is active", async () => {
    const { routes, disconnected } = recorder();
    const { wsUrl } = await startStack({ routes, maxConnectionMs: 250 });
    const socket = await open(wsUrl);
    const closed = closeOf(socket);
    const chatter = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send("x"), 50);
    expect((await closed).code).toBe(1001);
    clearInterval(chatter);
    expect((await disconnected).requestContext.disconnectStatusCode).toBe(1001);
  });

  it("reports a failing $disconnect through onError", async () => {
    const errors: unknown[] = [];
    const reported = deferred();
    const { wsUrl, gateway } = await startStack({
      routes: { $disconnect: async () => { throw new Error("cleanup failed"); } },
      onError: (error) => (errors.push(error), reported.resolve()),
    });
    (await open(wsUrl)).close();
    await reported.promise;
    expect(String(errors[0])).toContain("cleanup failed");
    expect(gateway.connectionCount()).toBe(0);
  });

  it("close() closes every socket, runs $disconnect for each and leaves no timers behind", async () => {
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const disconnects: number[] = [];
    const { wsUrl, gateway } = await startStack({ routes: { $disconnect: async (e) => void disconnects.push(e.requestContext.disconnectStatusCode ?? 0) } });
    const sockets = await Promise.all([open(wsUrl), open(wsUrl)]);
    const closes = sockets.map(closeOf);
    await gateway.close();
    expect((await Promise.all(closes)).map((c) => c.code)).toEqual([1001, 1001]);
    expect(disconnects).toEqual([1001, 1001]);
    expect(gateway.connectionCount()).toBe(0);
    await sleep(10);
    expect(process.getActiveResourcesInfo().filter((r) => r === "Timeout").length).toBeLessThanOrEqual(timersBefore);
  });
});

describe("WebSocket gateway: @connections management API (real SDK client)", () => {
  it("posts raw bytes to the connection as a text frame, through an endpoint with a path prefix", async () => {
    const { events, routes } = recorder();
    const { wsUrl, management } = await startStack({ routes });
    const socket = await open(wsUrl);
    const received = nextMessages(socket, 1);
    const connectionId = events[0]?.requestContext.connectionId;
    const output = await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from('{"type":"ack","text":"héllo"}') }));
    expect(output.$metadata.httpStatusCode).toBe(200);
    expect(await received).toEqual([{ data: '{"type":"ack","text":"héllo"}', isBinary: false }]);
  });

  it("refuses a post over 128 KB with PayloadTooLargeException (413)", async () => {
    const { events, routes } = recorder();
    const { wsUrl, management } = await startStack({ routes });
    await open(wsUrl);
    const ConnectionId = events[0]?.requestContext.connectionId;
    await management.send(new PostToConnectionCommand({ ConnectionId, Data: Buffer.alloc(128 * 1024, 97) }));
    const error = await management.send(new PostToConnectionCommand({ ConnectionId, Data: Buffer.alloc(128 * 1024 + 1, 97) })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "PayloadTooLargeException", $metadata: { httpStatusCode: 413 } });
  });

  it("describes a connection with GET: connected and last active times, source IP and user agent", async () => {
    const { events, routes } = recorder();
    const { wsUrl, management } = await startStack({ routes });
    const socket = await open(wsUrl);
    await sleep(20);
    socket.send("activity");
    await waitFor(() => events.length === 2);
    const output = await management.send(new GetConnectionCommand({ ConnectionId: events[0]?.requestContext.connectionId }));
    expect(output.Identity).toEqual({ SourceIp: "127.0.0.1", UserAgent: "azuchi-test" });
    expect(output.ConnectedAt).toBeInstanceOf(Date);
    expect(output.ConnectedAt?.getTime()).toBe(events[0]?.requestContext.connectedAt);
    expect(output.LastActiveAt!.getTime()).toBeGreaterThan(output.ConnectedAt!.getTime());
  });

  it("DELETE answers 204, closes the socket and runs $disconnect", async () => {
    const { events, routes, disconnected } = recorder();
    const { wsUrl, management, gateway } = await startStack({ routes });
    const socket = await open(wsUrl);
    const closed = closeOf(socket);
    const output = await management.send(new DeleteConnectionCommand({ ConnectionId: events[0]?.requestContext.connectionId }));
    expect(output.$metadata.httpStatusCode).toBe(204);
    expect((await closed).code).toBe(1000);
    expect((await disconnected).requestContext.connectionId).toBe(events[0]?.requestContext.connectionId);
    expect(gateway.connectionCount()).toBe(0);
  });

  it("answers 410 GoneException for an unknown or closed connection", async () => {
    const { events, routes, disconnected } = recorder();
    const { wsUrl, management } = await startStack({ routes });
    (await open(wsUrl)).close();
    await disconnected;
    const closedId = events[0]?.requestContext.connectionId;
    for (const command of [
      new PostToConnectionCommand({ ConnectionId: "H0zlrcJgtjMCEHA=", Data: "x" }),
      new PostToConnectionCommand({ ConnectionId: closedId, Data: "x" }),
      new GetConnectionCommand({ ConnectionId: closedId }),
      new DeleteConnectionCommand({ ConnectionId: closedId }),
    ]) {
      const error = (await management.send(command as PostToConnectionCommand).catch((e: unknown) => e)) as { name: string; $metadata: { httpStatusCode: number } };
      expect(error.name).toBe("GoneException");
      expect(error.$metadata.httpStatusCode).toBe(410);
    }
  });
});

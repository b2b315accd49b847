import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { ConnectionsRepository, HANDSHAKE_WINDOW_MS, Notifier, type PostResult } from "@azuchi/core";
import { createWebSocketGateway, type WebSocketEvent, type WebSocketGateway } from "../../packages/local/src/gateway/index.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";

// A $connect handler writes the connection's row before API Gateway opens the socket; a
// broadcast that reaches the new connection in that window answers 410. The notifier must not
// take that 410 for "gone" and delete the row, or the new tab would hear nothing afterwards.

let db: TestDynamo;
let connections: ConnectionsRepository;
let notifier: Notifier;
let gateway: WebSocketGateway;
let wsUrl: string;
let close: () => Promise<void>;
/** What a broadcast sent from inside $connect, after the row was written, reported. */
const duringConnect = new Map<string, PostResult>();

beforeAll(async () => {
  db = await startTestDynamo();
  connections = new ConnectionsRepository(db.doc, db.tables.connections);
  const server = createServer((req, res) => gateway.handleManagementRequest(req, res));
  server.on("upgrade", (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  gateway = createWebSocketGateway({
    domainName: `127.0.0.1:${port}`,
    routes: {
      $connect: async (event: WebSocketEvent) => {
        const { connectionId, connectedAt } = event.requestContext;
        const sessionId = event.queryStringParameters!.sessionId!;
        await connections.put({ connectionId, sessionId, userId: "alice", connectedAt: connectedAt ?? Date.now() });
        // Another tab's turn broadcasts to the session while this handshake is still under way.
        duringConnect.set(sessionId, await notifier.postToSession(sessionId, { type: "delta", messageId: sessionId, offset: 0, delta: "hi" }));
        return { statusCode: 200 };
      },
    },
  });
  const management = new ApiGatewayManagementApiClient({
    endpoint: `http://127.0.0.1:${port}${gateway.managementPath}`,
    region: "us-east-1",
    credentials: { accessKeyId: "t", secretAccessKey: "t" },
  });
  notifier = new Notifier(management, connections);
  wsUrl = `ws://127.0.0.1:${port}/ws`;
  close = async () => {
    await gateway.close();
    management.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
});
afterAll(async () => {
  await close?.();
  await db?.stop();
});

function openTab(sessionId: string): Promise<{ socket: WebSocket; frames: string[] }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${wsUrl}?sessionId=${sessionId}`);
    const frames: string[] = [];
    socket.on("message", (data) => frames.push(String(data)));
    socket.once("open", () => resolve({ socket, frames }));
    socket.once("error", reject);
  });
}

describe("a 410 from a connection still in its handshake", () => {
  it("keeps its row, so the tab gets every frame once it is open", async () => {
    const sessionId = randomUUID();
    const tab = await openTab(sessionId);
    const early = duringConnect.get(sessionId)!;
    // The local gateway, like API Gateway, answers 410 until $connect has returned.
    expect(early.gone).toHaveLength(1);
    const [row] = await connections.listBySession(sessionId);
    expect(row?.connectionId).toBe(early.gone[0]);

    const later = await notifier.postToSession(sessionId, { type: "delta", messageId: sessionId, offset: 0, delta: "hi" });
    expect(later).toMatchObject({ delivered: 1, gone: [], failed: [] });
    await expect.poll(() => tab.frames.length).toBe(1);
    tab.socket.close();
  });

  it("deletes the row of a connection that answers 410 once the handshake window is over", async () => {
    const sessionId = randomUUID();
    const connectedAt = Date.now() - HANDSHAKE_WINDOW_MS - 1_000;
    await connections.put({ connectionId: "long-gone=", sessionId, userId: "alice", connectedAt });
    await connections.put({ connectionId: "just-connecting=", sessionId, userId: "alice", connectedAt: Date.now() });
    const result = await notifier.postToSession(sessionId, { type: "delta", messageId: sessionId, offset: 0, delta: "hi" });
    expect(result.gone.sort()).toEqual(["just-connecting=", "long-gone="]);
    expect((await connections.listBySession(sessionId)).map((c) => c.connectionId)).toEqual(["just-connecting="]);
  });

  it("deleteGone says whether it deleted: an old row yes, a young or missing one no", async () => {
    const sessionId = randomUUID();
    const now = Date.now();
    await connections.put({ connectionId: "old=", sessionId, userId: "alice", connectedAt: now - HANDSHAKE_WINDOW_MS - 1 });
    await connections.put({ connectionId: "young=", sessionId, userId: "alice", connectedAt: now - HANDSHAKE_WINDOW_MS + 1_000 });
    expect(await connections.deleteGone("old=", now)).toBe(true);
    expect(await connections.deleteGone("young=", now)).toBe(false);
    expect(await connections.deleteGone("never-there=", now)).toBe(false);
    expect(await connections.get("young=")).toBeDefined();
  });
});

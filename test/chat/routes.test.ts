import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorFrame, ServerFrame } from "../../packages/core/src/index.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { ConnectionRefusedError, openClient, type TestClient } from "../support/ws-client.ts";

let stack: TestStack;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  stack = await startTestStack();
  doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.environment.AWS_ENDPOINT_URL_DYNAMODB, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } }),
  );
});
afterAll(() => stack?.stop());

const table = (name: string) => (JSON.parse(stack.environment[`SST_RESOURCE_${name}`]!) as { name: string }).name;

async function nextError(client: TestClient, send: () => void): Promise<ErrorFrame> {
  const start = client.frames.length;
  send();
  return (await client.waitFor((f) => f.type === "error" && client.frames.indexOf(f) >= start)) as ErrorFrame;
}

async function refusal(url: string): Promise<number> {
  try {
    const client = await openClient(url);
    await client.close();
    return 101;
  } catch (error) {
    if (error instanceof ConnectionRefusedError) return error.status;
    throw error;
  }
}

describe("$connect", () => {
  it("creates a session for the token's user when no sessionId is given, and records the connection", async () => {
    const tab = await stack.connect("erin");
    tab.send({ action: "getSession" });
    const frame = await tab.waitFor((f) => f.type === "session");
    if (frame.type !== "session") throw new Error("unreachable");
    expect(frame.session).toMatchObject({ userId: "erin", title: "" });
    expect(frame.messages).toEqual([]);
    const { Item } = await doc.send(new GetCommand({ TableName: table("Sessions"), Key: { sessionId: frame.session.sessionId } }));
    expect(Item).toMatchObject({ userId: "erin", messageCount: 0 });
    await tab.close();
  });

  it("refuses a connection without a token, with a bad token, or to a session that is not a UUID, unknown, or someone else's", async () => {
    const base = stack.webSocketUrl;
    const token = await stack.token("frank");
    const owner = await stack.connect("grace");
    const gracesSession = await stack.sessionOf(owner);
    expect(await refusal(base)).toBe(401);
    expect(await refusal(`${base}?token=not.a.jwt`)).toBe(403);
    expect(await refusal(`${base}?token=${token.slice(0, -4)}AAAA`)).toBe(403);
    expect(await refusal(`${base}?token=${token}&sessionId=not-a-uuid`)).toBe(400);
    expect(await refusal(`${base}?token=${token}&sessionId=${randomUUID()}`)).toBe(404);
    expect(await refusal(`${base}?token=${token}&sessionId=${gracesSession}`)).toBe(403);
    await owner.close();
  });
});

describe("$disconnect", () => {
  it("deletes the connection", async () => {
    const tab = await stack.connect("heidi");
    await stack.sessionOf(tab);
    const connectionId = (await doc.send(new GetCommand({ TableName: table("Sessions"), Key: { sessionId: await stack.sessionOf(tab) } }))).Item;
    expect(connectionId).toBeDefined();
    const before = await connectionsOf("heidi");
    expect(before).toHaveLength(1);
    await tab.close();
    await expect.poll(() => connectionsOf("heidi")).toHaveLength(0);
  });
});

async function connectionsOf(userId: string): Promise<unknown[]> {
  const { QueryCommand } = await import("@aws-sdk/lib-dynamodb");
  const { Items } = await doc.send(
    new QueryCommand({ TableName: table("Connections"), IndexName: "byUser", KeyConditionExpression: "userId = :u", ExpressionAttributeValues: { ":u": userId } }),
  );
  return Items ?? [];
}

describe("$default and bad frames", () => {
  it("answers a frame that is not JSON, or not an object, with BAD_REQUEST and keeps the socket usable", async () => {
    const tab = await stack.connect("ivan");
    expect((await nextError(tab, () => tab.sendRaw("{not json"))).code).toBe("BAD_REQUEST");
    expect((await nextError(tab, () => tab.sendRaw("[1,2,3]"))).code).toBe("BAD_REQUEST");
    expect((await nextError(tab, () => tab.sendRaw('"putMessage"'))).code).toBe("BAD_REQUEST");
    await stack.sessionOf(tab);
    await tab.close();
  });

  it("answers an unknown or missing action with UNKNOWN_ROUTE and the list of routes", async () => {
    const tab = await stack.connect("judy");
    const unknown = await nextError(tab, () => tab.send({ action: "deleteEverything" }));
    expect(unknown).toMatchObject({ code: "UNKNOWN_ROUTE", routes: ["putMessage", "getSession", "listSessions", "stopGeneration"] });
    expect((await nextError(tab, () => tab.send({ message: "no action" }))).code).toBe("UNKNOWN_ROUTE");
    await tab.close();
  });

  it("refuses an empty message, a wrong-typed field, a bad clientMessageId and a too-long message, each with its code", async () => {
    const tab = await stack.connect("mallory");
    expect((await nextError(tab, () => tab.send({ action: "putMessage", message: "   \n " }))).code).toBe("BAD_REQUEST");
    expect((await nextError(tab, () => tab.send({ action: "putMessage", message: 42 }))).code).toBe("BAD_REQUEST");
    expect((await nextError(tab, () => tab.send({ action: "putMessage" }))).code).toBe("BAD_REQUEST");
    expect((await nextError(tab, () => tab.send({ action: "putMessage", message: "hi", clientMessageId: "nope" }))).code).toBe("BAD_REQUEST");
    const tooLong = await nextError(tab, () => tab.send({ action: "putMessage", message: "🎌".repeat(8_001) }));
    expect(tooLong).toMatchObject({ code: "MESSAGE_TOO_LONG", limit: 8_000, length: 8_001 });
    expect((await nextError(tab, () => tab.send({ action: "getSession", limit: "ten" }))).code).toBe("BAD_REQUEST");
    // Nothing was stored, and the socket still works.
    tab.send({ action: "getSession" });
    const session = await tab.waitFor((f) => f.type === "session");
    expect(session.type === "session" && session.messages).toEqual([]);
    await tab.close();
  });

  it("accepts a message of exactly 8,000 characters of Japanese and emoji", async () => {
    const tab = await stack.connect("niaj");
    const text = "日本🎌".repeat(2_666) + "日本";
    expect([...text]).toHaveLength(8_000);
    tab.send({ action: "putMessage", message: text });
    const ack = await tab.waitFor((f) => f.type === "ack" || f.type === "error");
    expect(ack.type).toBe("ack");
    await tab.waitFor((f: ServerFrame) => f.type === "message" && f.message.role === "AGENT" && f.message.messageType === "CONVERSATION");
    await tab.close();
  });
});

describe("frame limits", () => {
  it("closes a connection whose frame is over API Gateway's 32 KB with 1009, as AWS does", async () => {
    const tab = await stack.connect("peggy");
    const closed = new Promise<number>((resolve) => tab.socket.once("close", (code) => resolve(code)));
    tab.send({ action: "putMessage", message: "x".repeat(33_000) });
    expect(await closed).toBe(1009);
  });
});

describe("putMessage and getSession", () => {
  it("acks with the stored message's id, stores it, and a retry with the same clientMessageId is the same message", async () => {
    const tab = await stack.connect("olivia");
    const sessionId = await stack.sessionOf(tab);
    const clientMessageId = randomUUID();
    tab.send({ action: "putMessage", message: "once", clientMessageId });
    const ack = await tab.waitFor((f) => f.type === "ack");
    if (ack.type !== "ack") throw new Error("unreachable");
    expect(ack.clientMessageId).toBe(clientMessageId);
    await tab.waitFor((f) => f.type === "message" && f.message.messageType === "CONVERSATION" && f.message.role === "AGENT");

    const start = tab.frames.length;
    tab.send({ action: "putMessage", message: "once", clientMessageId });
    const second = await tab.waitFor((f) => f.type === "ack" && tab.frames.indexOf(f) >= start);
    expect(second).toEqual(ack);

    tab.send({ action: "getSession" });
    const session = await tab.waitFor((f) => f.type === "session" && f.messages.length > 0);
    if (session.type !== "session") throw new Error("unreachable");
    expect(session.session.sessionId).toBe(sessionId);
    const users = session.messages.filter((m) => m.role === "USER");
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ messageId: ack.messageId, message: "once" });
    expect(users[0]!.enqueuedAt).toBeGreaterThanOrEqual(users[0]!.createdAt);
    const times = session.messages.map((m) => m.createdAt);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    await tab.close();
  });
});

import { randomUUID } from "node:crypto";
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AckFrame, Message, ServerFrame } from "@azuchi/core";
import { exchange, isAgentReply, startChatStack, tableName } from "../support/chat.ts";
import type { TestStack } from "../support/stack.ts";
import type { TestClient } from "../support/ws-client.ts";

let stack: TestStack;
let doc: DynamoDBDocumentClient;

beforeAll(async () => ({ stack, doc } = await startChatStack()));
afterAll(() => stack?.stop());

const isAck = (f: ServerFrame): f is AckFrame => f.type === "ack";

async function send(tab: TestClient, message: string, clientMessageId = randomUUID()): Promise<AckFrame> {
  const frame = await exchange(tab, { action: "putMessage", message, clientMessageId }, (f) => f.type === "ack" || f.type === "error");
  if (!isAck(frame)) throw new Error(`not acked: ${JSON.stringify(frame)}`);
  return frame;
}

async function messagesOf(tab: TestClient): Promise<Message[]> {
  const frame = await exchange(tab, { action: "getSession", limit: 200 }, (f) => f.type === "session");
  return frame.type === "session" ? frame.messages : [];
}

const replyTo = (jobId: string) => (f: ServerFrame) => isAgentReply(f) && f.type === "message" && f.message.jobId === jobId;

describe("putMessage", () => {
  it("acks the sender with the stored message, shows it to the other tabs, and every tab gets the agent's messages", async () => {
    const first = await stack.connect("olivia");
    const sessionId = await stack.sessionOf(first);
    const second = await stack.connect("olivia", sessionId);
    const ack = await send(first, "hello from one tab");
    expect(ack.message).toMatchObject({ messageId: ack.messageId, role: "USER", message: "hello from one tab", createdAt: ack.createdAt });

    const shown = await second.waitFor((f) => f.type === "message" && f.message.messageId === ack.messageId);
    expect(shown.type === "message" && shown.message).toEqual(ack.message);
    for (const tab of [first, second]) {
      await tab.waitFor(replyTo(ack.messageId));
      await tab.waitFor((f) => f.type === "message" && f.message.messageType === "AGENT_LOG");
    }
    // The ack goes to the sender only, and the sender is not shown its message a second time.
    expect(second.frames.some(isAck)).toBe(false);
    expect(first.frames.some((f) => f.type === "message" && f.message.messageId === ack.messageId)).toBe(false);
    const stored = await messagesOf(second);
    expect(stored[0]).toMatchObject({ messageId: ack.messageId, role: "USER", sessionId });
    expect(stored[0]!.enqueuedAt).toBeGreaterThanOrEqual(stored[0]!.createdAt);
    const times = stored.map((m) => m.createdAt);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    await Promise.all([first.close(), second.close()]);
  });

  it("makes a retry with the same clientMessageId the same message and the same job", async () => {
    const tab = await stack.connect("peggy");
    const clientMessageId = randomUUID();
    const ack = await send(tab, "once", clientMessageId);
    await tab.waitFor(replyTo(ack.messageId));
    expect(await send(tab, "once", clientMessageId)).toEqual(ack);
    // Give a second job, if there were one, the time to be answered.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const stored = await messagesOf(tab);
    expect(stored.filter((m) => m.role === "USER")).toHaveLength(1);
    expect(stored.filter((m) => m.jobId === ack.messageId && m.messageType === "CONVERSATION")).toHaveLength(1);
    const completed = stack.recentEvents().filter((e) => e["detail-type"] === "AgentRunCompleted" && (e.detail as { jobId: string }).jobId === ack.messageId);
    expect(completed).toHaveLength(1);
    await tab.close();
  });

  it("stores Japanese, emoji and 8,000 characters exactly as sent", async () => {
    const tab = await stack.connect("niaj");
    const texts = [
      "こんにちは、世界！ 今日の天気は？",
      "👨‍👩‍👧‍👦 🇯🇵 👍🏽 e\u0301 — “quotes” <b>not html</b> \\ \" \u0000 end",
      "日本🎌".repeat(2_666) + "日本",
      "🎌".repeat(8_000),
    ];
    expect([...texts[2]!]).toHaveLength(8_000);
    const acks = [];
    for (const text of texts) acks.push(await send(tab, text));
    const stored = await messagesOf(tab);
    for (const [i, ack] of acks.entries()) {
      expect(stored.find((m) => m.messageId === ack.messageId)?.message).toBe(texts[i]);
    }
    // And the agent answers the longest one (its reply quotes it).
    const reply = await tab.waitFor(replyTo(acks[3]!.messageId));
    expect(reply.type === "message" && reply.message.message).toContain("🎌🎌🎌");
    await tab.close();
  });
});

describe("connections that are gone", () => {
  it("deletes a connection that answers 410 when a message is sent to the session, and only that one", async () => {
    const tab = await stack.connect("quentin");
    const sessionId = await stack.sessionOf(tab);
    const connections = tableName(stack, "Connections");
    // A tab that vanished without its $disconnect reaching the table: the gateway does not know its id.
    // It connected a minute ago: a younger one may still be in its handshake, and is kept.
    const ghost = `ghost${randomUUID().slice(0, 8)}=`;
    const now = Date.now() - 60_000;
    await doc.send(new PutCommand({ TableName: connections, Item: { connectionId: ghost, sessionId, userId: "quentin", connectedAt: now, expiresAt: Math.floor(now / 1000) + 3600 } }));

    const ack = await send(tab, "is anyone there?");
    await tab.waitFor(replyTo(ack.messageId));
    expect((await doc.send(new GetCommand({ TableName: connections, Key: { connectionId: ghost } }))).Item).toBeUndefined();
    // The live tab, which sent the message, keeps its connection.
    const { Items: left = [] } = await doc.send(
      new QueryCommand({ TableName: connections, IndexName: "bySession", KeyConditionExpression: "sessionId = :s", ExpressionAttributeValues: { ":s": sessionId } }),
    );
    expect(left).toHaveLength(1);
    expect(left[0]!.connectionId).not.toBe(ghost);
    await tab.close();
  });
});

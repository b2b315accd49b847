import { randomUUID } from "node:crypto";
import { DeleteTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message } from "@azuchi/core";
import { isAgentReply, startChatStack, tableName } from "../support/chat.ts";
import type { TestStack } from "../support/stack.ts";
import type { TestClient } from "../support/ws-client.ts";

// A message is stored before any frame shows it (docs/architecture.md §1): a reload never lacks what
// a tab has seen. These tests would catch a handler that showed or acked first.

let stack: TestStack;
let doc: DynamoDBDocumentClient;

beforeAll(async () => ({ stack, doc } = await startChatStack()));
afterAll(() => stack?.stop());

/** For every `message` frame a tab gets, a consistent read of that message, started the moment the frame arrives. */
function readOnArrival(tab: TestClient): { message: Message; stored: Promise<unknown> }[] {
  const reads: { message: Message; stored: Promise<unknown> }[] = [];
  tab.socket.on("message", (data) => {
    const frame = JSON.parse(String(data)) as { type: string; message?: Message };
    if (frame.type !== "message" || !frame.message) return;
    const { sessionId, createdAt } = frame.message;
    const stored = doc.send(new GetCommand({ TableName: tableName(stack, "Messages"), Key: { sessionId, createdAt }, ConsistentRead: true })).then((r) => r.Item);
    reads.push({ message: frame.message, stored });
  });
  return reads;
}

describe("a message frame", () => {
  it("shows only what is already stored: every frame's message is readable the moment it arrives, in every tab", async () => {
    const first = await stack.connect("stella");
    const sessionId = await stack.sessionOf(first);
    const second = await stack.connect("stella", sessionId);
    const reads = [...[first, second].map(readOnArrival)];
    for (const text of ["one", "a plan please", "what time is it?"]) {
      const start = first.frames.length;
      first.send({ action: "putMessage", message: text, clientMessageId: randomUUID() });
      const ack = await first.waitFor((f) => first.frames.indexOf(f) >= start && f.type === "ack");
      for (const tab of [first, second]) await tab.waitFor((f) => isAgentReply(f) && f.type === "message" && ack.type === "ack" && f.message.jobId === ack.messageId);
    }
    for (const tabReads of reads) {
      // The USER message, the agent's first log, and its reply at least, for each of the three.
      expect(tabReads.length).toBeGreaterThanOrEqual(9);
      for (const { message, stored } of tabReads) expect(await stored, `${message.role} ${message.messageType} ${message.messageId}`).toMatchObject({ messageId: message.messageId, message: message.message });
    }
    await Promise.all([first.close(), second.close()]);
  });

  it("never comes when the store fails: no ack and no message frame, only an error", async () => {
    const tab = await stack.connect("tamsin");
    const sessionId = await stack.sessionOf(tab);
    const other = await stack.connect("tamsin", sessionId);
    const client = new DynamoDBClient({ endpoint: stack.environment.AWS_ENDPOINT_URL_DYNAMODB, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });
    // The fault: the messages table is gone (this test is the file's last).
    await client.send(new DeleteTableCommand({ TableName: tableName(stack, "Messages") }));
    client.destroy();
    const start = tab.frames.length;
    const otherStart = other.frames.length;
    tab.send({ action: "putMessage", message: "this cannot be stored", clientMessageId: randomUUID() });
    const error = await tab.waitFor((f) => tab.frames.indexOf(f) >= start && f.type === "error");
    expect(error).toMatchObject({ code: "INTERNAL" });
    // A round trip on the other tab: a frame the failed message had sent would have come before its answer.
    const probe = other.frames.length;
    other.send({ action: "listSessions" });
    await other.waitFor((f) => other.frames.indexOf(f) >= probe && (f.type === "sessions" || f.type === "error"));
    expect(tab.frames.slice(start).map((f) => f.type)).toEqual(["error"]);
    expect(other.frames.slice(otherStart).filter((f) => f.type === "message" || f.type === "ack")).toEqual([]);
    await Promise.all([tab.close(), other.close()]);
  });
});

import { randomUUID } from "node:crypto";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionsRepository, MessagesRepository, RedisUnavailableError, redisKeys, SessionsRepository, type ServerFrame } from "@azuchi/core";
import { deleteSession } from "../../packages/chat/src/session-changes.ts";
import { freePort } from "../support/ports.ts";
import { documentClient, tableName } from "../support/chat.ts";
import { messageFrame } from "../support/frames.ts";
import { stackRedis, startTestStack, type TestStack } from "../support/stack.ts";
import type { TestClient } from "../support/ws-client.ts";

let stack: TestStack;
let redis: Redis;

beforeAll(async () => {
  stack = await startTestStack({ model: { firstTokenMs: 0, tokenMs: 0 } });
  redis = stackRedis(stack);
});
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

type Frame<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;
const isType =
  <T extends ServerFrame["type"]>(type: T, also: (frame: Frame<T>) => boolean = () => true) =>
  (frame: ServerFrame): frame is Frame<T> =>
    frame.type === type && also(frame as Frame<T>);

/** A tab of `user` on a new session with one answered exchange. */
async function answeredChat(user: string, text: string): Promise<{ tab: TestClient; sessionId: string }> {
  const tab = await stack.connect(user);
  const sessionId = await stack.sessionOf(tab);
  tab.send({ action: "putMessage", message: text, clientMessageId: randomUUID() });
  await tab.waitFor(messageFrame("CONVERSATION", "AGENT"));
  return { tab, sessionId };
}

describe("a chat's title and its deletion, pushed to every tab of the user", () => {
  it("tells the user's other tabs of a new chat at its first message, untitled, before any answer", async () => {
    const other = await stack.connect("nao");
    const tab = await stack.connect("nao");
    const sessionId = await stack.sessionOf(tab);
    const pace = stack.model!.settings();
    // The model holds its first token for a minute: the answer cannot come before the stop below.
    stack.model!.configure({ firstTokenMs: 60_000 });
    try {
      const clientMessageId = randomUUID();
      tab.send({ action: "putMessage", message: "a chat in the making", clientMessageId });
      const ack = await tab.waitFor(isType("ack", (f) => f.clientMessageId === clientMessageId));
      const begun = await other.waitFor(isType("sessionUpdated", (f) => f.session.sessionId === sessionId));
      expect(begun.session).toEqual({ sessionId, title: "", updatedAt: ack.createdAt });
      expect(tab.frames.some(messageFrame("CONVERSATION", "AGENT"))).toBe(false);
      other.send({ action: "listSessions" });
      expect((await other.waitFor(isType("sessions"))).sessions.map((s) => s.sessionId)).toContain(sessionId);
      tab.send({ action: "stopGeneration" });
      await tab.waitFor(messageFrame("CONVERSATION", "AGENT"));
    } finally {
      stack.model!.configure({ firstTokenMs: pace.firstTokenMs });
    }
    await Promise.all([tab.close(), other.close()]);
  });

  it("tells the user's other tabs when a new chat gets its title, once its first answer is stored", async () => {
    const other = await stack.connect("tomo");
    const { tab, sessionId } = await answeredChat("tomo", "Where is the nearest onsen? ♨️");
    const updated = await other.waitFor(isType("sessionUpdated", (f) => f.session.sessionId === sessionId && f.session.title !== ""));
    expect(updated.session.title).toBe("Where is the nearest onsen? ♨️");
    // Told twice: the chat begun (untitled), then titled; its later messages tell nothing.
    const told = () => other.frames.filter(isType("sessionUpdated", (f) => f.session.sessionId === sessionId)).map((f) => f.session.title);
    expect(told()).toEqual(["", "Where is the nearest onsen? ♨️"]);
    const clientMessageId = randomUUID();
    tab.send({ action: "putMessage", message: "and the second one?", clientMessageId });
    await tab.waitFor(isType("ack", (f) => f.clientMessageId === clientMessageId));
    await tab.waitFor((f) => f.type === "message" && f.message.role === "AGENT" && f.message.messageType === "CONVERSATION" && f.message.message.includes("the second one"));
    expect(told()).toEqual(["", "Where is the nearest onsen? ♨️"]);
    await Promise.all([tab.close(), other.close()]);
  });

  it("renames a chat of the user's from any tab, tells all of them, and refuses another user's or an empty name", async () => {
    const { tab, sessionId } = await answeredChat("rei", "first name");
    const elsewhere = await stack.connect("rei");
    const stranger = await stack.connect("mallory");
    elsewhere.send({ action: "renameSession", sessionId, title: "  Trip\nto Nara 🦌  " });
    for (const each of [tab, elsewhere]) {
      const updated = await each.waitFor(isType("sessionUpdated", (f) => f.session.sessionId === sessionId && !["", "first name"].includes(f.session.title)));
      expect(updated.session.title).toBe("Trip");
    }
    elsewhere.send({ action: "listSessions" });
    const listed = await elsewhere.waitFor(isType("sessions"));
    expect(listed.sessions.find((s) => s.sessionId === sessionId)?.title).toBe("Trip");

    stranger.send({ action: "renameSession", sessionId, title: "mine now" });
    await expect(stranger.waitFor(isType("error"))).resolves.toMatchObject({ code: "NOT_FOUND", sessionId });
    tab.send({ action: "renameSession", sessionId, title: " \n " });
    await expect(tab.waitFor(isType("error"))).resolves.toMatchObject({ code: "BAD_REQUEST" });
    await Promise.all([tab, elsewhere, stranger].map((t) => t.close()));
  });

  it("deletes a chat: its messages, its tabs' subscriptions and the agent's memory; every tab is told; another user cannot", async () => {
    const { tab: onIt, sessionId } = await answeredChat("kai", "delete me later");
    const other = await stack.connect("kai");
    await stack.sessionOf(other);
    const stranger = await stack.connect("eve");
    const historyKey = `azuchi:ai-agent:session:{${sessionId}}:history`;
    await expect.poll(() => redis.exists(historyKey)).toBe(1);

    stranger.send({ action: "deleteSession", sessionId });
    await expect(stranger.waitFor(isType("error"))).resolves.toMatchObject({ code: "NOT_FOUND", sessionId });

    other.send({ action: "deleteSession", sessionId });
    for (const each of [onIt, other]) await each.waitFor(isType("sessionDeleted", (f) => f.sessionId === sessionId));
    expect(await redis.exists(historyKey)).toBe(0);
    // The tab that was on it has no session any more, and the chat cannot be opened again.
    const before = onIt.frames.length;
    onIt.send({ action: "getSession" });
    await expect(onIt.waitFor((f) => f.type === "error" && onIt.frames.indexOf(f) >= before)).resolves.toMatchObject({ code: "NOT_FOUND" });
    await expect(stack.connect("kai", sessionId)).rejects.toThrow();
    other.send({ action: "listSessions" });
    const listed = await other.waitFor(isType("sessions"));
    expect(listed.sessions.map((s) => s.sessionId)).not.toContain(sessionId);
    // Its messages are gone from the table.
    const { Items = [] } = await documentClient(stack).send(new QueryCommand({ TableName: tableName(stack, "Messages"), KeyConditionExpression: "sessionId = :s", ExpressionAttributeValues: { ":s": sessionId } }));
    expect(Items).toEqual([]);
    await Promise.all([onIt, other, stranger].map((t) => t.close()));
  });

  it("deletes a chat's tabs and messages even when Redis is down, then reports Redis unavailable", async () => {
    const { tab, sessionId } = await answeredChat("ren", "delete me while Redis is away");
    const doc = documentClient(stack);
    const tables = { sessions: tableName(stack, "Sessions"), connections: tableName(stack, "Connections"), messages: tableName(stack, "Messages"), messageIds: tableName(stack, "MessageIds") };
    // A client of a port nothing listens on: the Redis a route would find down.
    const down = new Redis({ port: await freePort(), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    down.on("error", () => undefined);
    try {
      await expect(
        deleteSession(
          { sessions: new SessionsRepository(doc, tables.sessions), connections: new ConnectionsRepository(doc, tables.connections), messages: new MessagesRepository(doc, tables), redis: down, agentKeys: redisKeys() },
          sessionId,
          "ren",
        ),
      ).rejects.toBeInstanceOf(RedisUnavailableError);
    } finally {
      down.disconnect();
    }
    const query = (table: string, index: string | undefined) =>
      doc.send(new QueryCommand({ TableName: table, IndexName: index, KeyConditionExpression: "sessionId = :s", ExpressionAttributeValues: { ":s": sessionId } }));
    expect((await query(tables.messages, undefined)).Items).toEqual([]);
    expect((await query(tables.connections, "bySession")).Items).toEqual([]);
    await tab.close();
  });

  it("stops a turn running when its chat is deleted, and keeps nothing of it, nor of a job queued behind it", async () => {
    const tab = await stack.connect("yui");
    const sessionId = await stack.sessionOf(tab);
    const elsewhere = await stack.connect("yui");
    const pace = stack.model!.settings();
    // The model holds its first token for a minute: only the stop can end this turn sooner.
    stack.model!.configure({ firstTokenMs: 60_000 });
    try {
      tab.send({ action: "putMessage", message: "answered slowly, then deleted", clientMessageId: randomUUID() });
      await tab.waitFor(messageFrame("AGENT_LOG", "AGENT"));
      const queued = randomUUID();
      tab.send({ action: "putMessage", message: "queued behind it", clientMessageId: queued });
      await tab.waitFor(isType("ack", (f) => f.clientMessageId === queued));
      elsewhere.send({ action: "deleteSession", sessionId });
      await elsewhere.waitFor(isType("sessionDeleted", (f) => f.sessionId === sessionId));
      // Both jobs end (the queue empties) long before the model's first token.
      const sqs = new SQSClient({ endpoint: stack.sqsEndpoint, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });
      const onQueue = async () => {
        const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.queues.jobs, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }));
        return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
      };
      await expect.poll(onQueue, { timeout: 30_000, interval: 100 }).toBe(0);
      sqs.destroy();
    } finally {
      stack.model!.configure({ firstTokenMs: pace.firstTokenMs });
    }
    const { Items = [] } = await documentClient(stack).send(new QueryCommand({ TableName: tableName(stack, "Messages"), KeyConditionExpression: "sessionId = :s", ExpressionAttributeValues: { ":s": sessionId } }));
    expect(Items.map((m) => `${String(m.role)}/${String(m.messageType)}`)).toEqual([]);
    expect(await redis.exists(`azuchi:ai-agent:session:{${sessionId}}:history`)).toBe(0);
    await Promise.all([tab.close(), elsewhere.close()]);
  });
});

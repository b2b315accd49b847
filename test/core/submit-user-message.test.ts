import { randomUUID } from "node:crypto";
import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { EventBridgeEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  chatRedisKeys,
  ConnectionsRepository,
  createRedis,
  enqueueUserMessage,
  EnqueueFailedError,
  EventPublisher,
  MessagesRepository,
  Notifier,
  parseAgentJob,
  RateLimiter,
  SessionsRepository,
  storeUserMessage,
  submitUserMessage,
  type Message,
  type Redis,
  type SubmitLog,
  type SubmitUserMessageDeps,
  type UserMessageInput,
} from "@azuchi/core";
import { startEventBridge, type EventBridgeEmulator } from "../../packages/local/src/eventbridge/index.ts";
import type { RedisServer } from "../../packages/local/src/redis-server.ts";
import { startSqsEmulator, type SqsEmulator } from "@azuchi/local/sqs";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";
import { freePort } from "../support/ports.ts";
import { startTestRedis } from "../support/redis.ts";

let db: TestDynamo;
let sqsServer: SqsEmulator;
let sqs: SQSClient;
let messages: MessagesRepository;
let sessions: SessionsRepository;
let clock = Date.now();
let bus: EventBridgeEmulator;
let redisServer: RedisServer;
let redis: Redis;
const clients: { destroy(): void }[] = [];
const posted: EventBridgeEvent<string, { messageId: string }>[] = [];
const credentials = { accessKeyId: "t", secretAccessKey: "t" };

beforeAll(async () => {
  db = await startTestDynamo();
  sqsServer = await startSqsEmulator({ now: () => clock });
  sqs = new SQSClient({ endpoint: sqsServer.endpoint, region: "us-east-1", credentials });
  messages = new MessagesRepository(db.doc, db.tables);
  sessions = new SessionsRepository(db.doc, db.tables.sessions);
  bus = await startEventBridge({
    buses: ["Events"],
    rules: [{ name: "posted", eventBusName: "Events", pattern: { "detail-type": ["MessagePosted"] }, target: async (event) => void posted.push(event as (typeof posted)[number]) }],
  });
  redisServer = await startTestRedis();
  redis = createRedis({ host: "127.0.0.1", port: redisServer.port, tls: false });
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  redis?.disconnect();
  await redisServer?.stop();
  await bus?.close();
  sqs?.destroy();
  await sqsServer?.close();
  await db?.stop();
});

async function newQueue(): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `jobs-${randomUUID()}.fifo`, Attributes: { FifoQueue: "true" } }));
  return QueueUrl!;
}

/** Every job on the queue, taken off it. */
async function drain(queueUrl: string) {
  const jobs = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["All"] }));
    if (Messages.length === 0) return jobs;
    for (const received of Messages) {
      jobs.push({ job: parseAgentJob(received.Body!), deduplicationId: received.Attributes?.MessageDeduplicationId, groupId: received.Attributes?.MessageGroupId });
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: received.ReceiptHandle }));
    }
  }
}

async function input(text: string, userId = "alice"): Promise<UserMessageInput> {
  const { sessionId } = await sessions.create(userId);
  return { sessionId, userId, text, source: "websocket", connectionId: "conn-1", clientMessageId: randomUUID() };
}

describe("storing and queueing a USER message", () => {
  it("queues one job per message: the job id is the message id, grouped by session", async () => {
    const queueUrl = await newQueue();
    const message = await input("こんにちは 🎌");
    const { message: stored } = await storeUserMessage({ messages }, message);
    const { message: queued } = await enqueueUserMessage({ messages, sqs, queueUrl }, stored, message);
    expect(queued.enqueuedAt).toBeGreaterThanOrEqual(stored.createdAt);
    expect(await messages.get(stored.sessionId, stored.createdAt)).toEqual(queued);
    const jobs = await drain(queueUrl);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ deduplicationId: stored.messageId, groupId: message.sessionId });
    expect(jobs[0]!.job).toMatchObject({ jobId: stored.messageId, messageId: stored.messageId, message: "こんにちは 🎌", createdAt: stored.createdAt, userId: "alice" });
  });

  it("keeps a message whose job could not be queued, unmarked, and a retry with its clientMessageId queues it", async () => {
    const queueUrl = await newQueue();
    const message = await input("please answer");
    const { message: stored } = await storeUserMessage({ messages }, message);
    const missingQueue = `${queueUrl.replace(/\.fifo$/, "")}-deleted.fifo`;
    const failure = await enqueueUserMessage({ messages, sqs, queueUrl: missingQueue }, stored, message).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EnqueueFailedError);
    expect((await messages.get(stored.sessionId, stored.createdAt))?.enqueuedAt).toBeUndefined();

    // The client sends it again, later: the same message, now queued.
    const retry = await storeUserMessage({ messages }, { ...message, now: Date.now() + 5_000 });
    expect(retry).toEqual({ created: false, message: stored });
    const { message: queued } = await enqueueUserMessage({ messages, sqs, queueUrl }, retry.message, message);
    expect(queued.enqueuedAt).toBeDefined();
    expect((await messages.list(message.sessionId)).map((m) => m.messageId)).toEqual([stored.messageId]);
    expect((await drain(queueUrl)).map((j) => j.job.jobId)).toEqual([stored.messageId]);
  });

  it("is one job when two retries queue the same message at once (SQS deduplicates on the jobId)", async () => {
    const queueUrl = await newQueue();
    const message = await input("double send");
    const [first, second] = await Promise.all([storeUserMessage({ messages }, message), storeUserMessage({ messages }, message)]);
    expect([first.created, second.created].sort()).toEqual([false, true]);
    await Promise.all([
      enqueueUserMessage({ messages, sqs, queueUrl }, first.message, message),
      enqueueUserMessage({ messages, sqs, queueUrl }, second.message, message),
    ]);
    expect(await drain(queueUrl)).toHaveLength(1);
  });

  it("does not queue a message again once it is marked, even after SQS's 5-minute deduplication window", async () => {
    const queueUrl = await newQueue();
    const message = await input("once");
    const { message: stored } = await storeUserMessage({ messages }, message);
    await enqueueUserMessage({ messages, sqs, queueUrl }, stored, message);
    expect(await drain(queueUrl)).toHaveLength(1);
    clock += 6 * 60_000;
    const retry = await storeUserMessage({ messages }, message);
    expect(retry.message.enqueuedAt).toBeDefined();
    await enqueueUserMessage({ messages, sqs, queueUrl }, retry.message, message);
    expect(await drain(queueUrl)).toHaveLength(0);
  });
});

const silent: SubmitLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The use case's dependencies on the test's servers. No tab is connected, so the management API is never called. */
async function submitDeps(queueUrl: string, limit = { burst: 100, perSecond: 100 }, limiterRedis = redis): Promise<SubmitUserMessageDeps> {
  const management = new ApiGatewayManagementApiClient({ endpoint: `http://127.0.0.1:${await freePort()}/local`, region: "us-east-1", credentials });
  const events = new EventBridgeClient({ endpoint: bus.endpoint, region: "us-east-1", credentials });
  clients.push(management, events);
  return {
    messages,
    sqs,
    queueUrl,
    notifier: new Notifier(management, new ConnectionsRepository(db.doc, db.tables.connections)),
    events: async () => new EventPublisher(events, "Events", "test"),
    messageRate: new RateLimiter(limiterRedis, limit),
    chatKeys: chatRedisKeys(`test-${randomUUID()}`),
  };
}

async function queueDepth(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }));
  return Number(Attributes?.ApproximateNumberOfMessages);
}

const postedFor = (messageId: string) => posted.filter((event) => event.detail.messageId === messageId);

describe("submitUserMessage, the one path of putMessage and generateChatReply", () => {
  it("acks only once the message is stored and its job is on the queue, counted in the session, its job announcing it", async () => {
    const queueUrl = await newQueue();
    const message = await input("store, queue, then ack");
    const atAck: { depth: number; stored?: Message; count?: number }[] = [];
    const result = await submitUserMessage(await submitDeps(queueUrl), message, {
      log: silent,
      acknowledge: async (acked) =>
        (atAck.push({ depth: await queueDepth(queueUrl), stored: await messages.get(acked.sessionId, acked.createdAt), count: (await sessions.get(acked.sessionId))?.messageCount }), true),
    });
    expect(result).toMatchObject({ status: "enqueued", created: true, firstMessage: true, message: { message: "store, queue, then ack" } });
    expect(atAck).toHaveLength(1);
    expect(atAck[0]!.depth).toBe(1);
    expect(atAck[0]!.stored?.enqueuedAt).toBeDefined();
    expect(atAck[0]!.count).toBe(1);
    // The turn publishes its MessagePosted (one PutEvents a turn): chat does not.
    const [job] = await drain(queueUrl);
    expect(job!.job).toMatchObject({ jobId: result.status === "enqueued" ? result.message.messageId : "", announce: true });
    await bus.idle();
    expect(postedFor(result.status === "enqueued" ? result.message.messageId : "")).toEqual([]);
    // The session's second message is not its first.
    const second = await submitUserMessage(await submitDeps(queueUrl), { ...message, clientMessageId: randomUUID(), text: "again" }, { log: silent });
    expect(second).toMatchObject({ status: "enqueued", created: true, firstMessage: false });
    expect((await sessions.get(message.sessionId))?.messageCount).toBe(2);
  });

  it("shows the message to the session's other tabs only once the ack (which carries it) reached the sender's, and to the sender's too when it did not", async () => {
    const queueUrl = await newQueue();
    const tabsMissing = async (acknowledge: () => Promise<boolean>) => {
      const message = { ...(await input("which tabs?")), connectionId: `sender-${randomUUID()}` };
      const connections = new ConnectionsRepository(db.doc, db.tables.connections);
      for (const connectionId of [message.connectionId, `other-${randomUUID()}`]) await connections.put({ connectionId, sessionId: message.sessionId, userId: "alice", connectedAt: Date.now() - 60_000 });
      const missed: string[] = [];
      // The management API is unreachable here: every post fails, and is logged with its tab.
      const log = { ...silent, warn: (text: string, extra: Record<string, unknown>) => void (text === "a tab missed the message" && missed.push(String(extra.tab))) };
      const result = await submitUserMessage(await submitDeps(queueUrl), message, { log, acknowledge });
      expect(result.status).toBe("enqueued");
      return missed.map((tab) => (tab === message.connectionId ? "sender" : "other")).sort();
    };
    expect(await tabsMissing(async () => true)).toEqual(["other"]);
    expect(await tabsMissing(async () => false)).toEqual(["other", "sender"]);
    expect(await tabsMissing(() => Promise.reject(new Error("throttled")))).toEqual(["other", "sender"]);
    await drain(queueUrl);
  });

  it("does not ack a message whose job could not be queued, announcing it then; the retry stores nothing new, queues it and acks it, its job announcing nothing", async () => {
    const queueUrl = await newQueue();
    const message = await input("SQS is down after the store");
    const acks: Message[] = [];
    const hooks = { log: silent, acknowledge: async (acked: Message) => (acks.push(acked), true) };
    const down = await submitUserMessage(await submitDeps(`${queueUrl.replace(/\.fifo$/, "")}-gone.fifo`), message, hooks);
    expect(down.status).toBe("stored");
    if (down.status !== "stored") return;
    expect(down.cause).toBeDefined();
    expect(acks).toEqual([]);
    expect((await messages.get(down.message.sessionId, down.message.createdAt))?.enqueuedAt).toBeUndefined();
    // Counted in the session all the same: a reload shows it.
    expect((await sessions.get(message.sessionId))?.messageCount).toBe(1);
    // No job will announce it: chat did.
    await bus.idle();
    expect(postedFor(down.message.messageId)).toHaveLength(1);

    const retry = await submitUserMessage(await submitDeps(queueUrl), { ...message, now: Date.now() + 1_000 }, hooks);
    expect(retry).toMatchObject({ status: "enqueued", created: false, message: { messageId: down.message.messageId, createdAt: down.message.createdAt } });
    expect(acks.map((m) => m.messageId)).toEqual([down.message.messageId]);
    expect((await messages.list(message.sessionId)).map((m) => m.messageId)).toEqual([down.message.messageId]);
    const jobs = await drain(queueUrl);
    expect(jobs.map((j) => j.job.jobId)).toEqual([down.message.messageId]);
    expect(jobs[0]!.job.announce).toBeUndefined();
    // A further retry (its ack was lost) is acked again, queues nothing and announces nothing.
    expect(await submitUserMessage(await submitDeps(queueUrl), message, hooks)).toMatchObject({ status: "enqueued", created: false });
    expect(await drain(queueUrl)).toEqual([]);
    await bus.idle();
    expect(postedFor(down.message.messageId)).toHaveLength(1);
    expect((await sessions.get(message.sessionId))?.messageCount).toBe(1);
  });

  it("says which message was the session's first (firstMessage): one, even among messages sent at once, and not its retry", async () => {
    const queueUrl = await newQueue();
    const deps = await submitDeps(queueUrl);
    const first = await input("the first");
    const firstResult = await submitUserMessage(deps, first, { log: silent });
    expect(firstResult).toMatchObject({ status: "enqueued", created: true, firstMessage: true });
    expect(await submitUserMessage(deps, first, { log: silent })).toMatchObject({ status: "enqueued", created: false, firstMessage: false });
    expect(await submitUserMessage(deps, { ...first, clientMessageId: randomUUID(), text: "the second" }, { log: silent })).toMatchObject({ created: true, firstMessage: false });

    // Tabs of a new chat send together, through one instance (its touches batched) and another
    // (its own update): the summary's updates tell exactly one of them it was first.
    const fresh = await input("tab one");
    const otherInstance = { ...deps, messages: new MessagesRepository(db.doc, db.tables) };
    const together = await Promise.all(
      [deps, deps, otherInstance, otherInstance].map((d, i) => submitUserMessage(d, { ...fresh, clientMessageId: randomUUID(), text: `tab ${i}` }, { log: silent })),
    );
    expect(together.map((r) => r.status === "enqueued" && r.firstMessage).filter(Boolean)).toHaveLength(1);
    expect((await sessions.get(fresh.sessionId))?.messageCount).toBe(4);
  });

  it("stores nothing in a chat deleted since the tab opened it, nor in another user's, and queues nothing (NOT_FOUND)", async () => {
    const queueUrl = await newQueue();
    const deps = await submitDeps(queueUrl);
    const deleted = await input("hello?");
    expect(await sessions.delete(deleted.sessionId, "alice")).toBe(true);
    expect(await submitUserMessage(deps, deleted, { log: silent })).toEqual({ status: "not_found" });
    const others = await input("mine");
    expect(await submitUserMessage(deps, { ...others, userId: "mallory" }, { log: silent })).toEqual({ status: "not_found" });
    expect(await messages.list(deleted.sessionId)).toEqual([]);
    expect(await messages.list(others.sessionId)).toEqual([]);
    expect(await drain(queueUrl)).toEqual([]);
    // The same chat, while it exists, takes it.
    expect(await submitUserMessage(deps, others, { log: silent })).toMatchObject({ status: "enqueued", created: true });
  });

  it("refuses a user over their message rate before storing anything, whichever entry they use; other users are not slowed", async () => {
    const queueUrl = await newQueue();
    const deps = await submitDeps(queueUrl, { burst: 2, perSecond: 0.001 });
    const first = await input("one");
    const fromHttp = { ...first, source: "http" as const, connectionId: undefined, clientMessageId: randomUUID(), text: "two" };
    const third = { ...first, clientMessageId: randomUUID(), text: "three" };
    expect((await submitUserMessage(deps, first, { log: silent })).status).toBe("enqueued");
    expect((await submitUserMessage(deps, fromHttp, { log: silent })).status).toBe("enqueued");
    const refused = await submitUserMessage(deps, third, { log: silent });
    expect(refused).toMatchObject({ status: "rate_limited" });
    expect(refused.status === "rate_limited" && refused.retryAfterMs).toBeGreaterThan(0);
    expect((await messages.list(first.sessionId)).map((m) => m.message)).toEqual(["one", "two"]);
    const bob = await input("bob's", "bob");
    expect((await submitUserMessage(deps, bob, { log: silent })).status).toBe("enqueued");
  });

  it("lets messages through when Redis cannot be reached: a limit must not take chat down", async () => {
    const queueUrl = await newQueue();
    const unreachable = createRedis({ host: "127.0.0.1", port: await freePort(), tls: false });
    const errors: string[] = [];
    const result = await submitUserMessage(await submitDeps(queueUrl, undefined, unreachable), await input("no Redis"), { log: { ...silent, error: (line) => void errors.push(line) } });
    unreachable.disconnect();
    expect(result.status).toBe("enqueued");
    expect(errors).toContain("rate limit not checked: Redis is unavailable");
  });
});

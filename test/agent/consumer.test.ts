import { randomUUID } from "node:crypto";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { settingsFromEnvironment } from "@azuchi/agent";
import { ConversationMemory } from "../../packages/agent/src/conversation-memory.ts";
import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { agentMessageId, ConnectionsRepository, createDocumentClient, type AgentJob } from "@azuchi/core";
import { freePort } from "../../packages/local/src/net.ts";
import { toSqsRecord } from "@azuchi/local/runtime";
import { messagesWithFault, useConsumerKit } from "../support/consumer-kit.ts";

const kit = useConsumerKit("consumer-test");
const { deps, job, enqueue, receiveBatch, consume, agentMessages, recordOf } = kit;
const jobIdOf = (record: SQSRecord) => (JSON.parse(record.body) as AgentJob).jobId;
/** The messageIds of the session's MessagePosted events, as published, in order. */
const postedOf = (sessionId: string) =>
  kit.stack
    .recentEvents()
    .filter((e) => e["detail-type"] === "MessagePosted" && (e.detail as { sessionId?: string }).sessionId === sessionId)
    .map((e) => (e.detail as { messageId: string }).messageId);
const failureOf = (jobId: string) => kit.failuresOf(jobId)[0];

describe("the consumer", () => {
  it("fails a failing message and the later ones of its session in the same batch, while other sessions' messages succeed", async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const [a1, a2, b1] = [job(a, "a one"), job(a, "a two"), job(b, "b one")];
    await enqueue(a1, a2, b1);
    // Session A is held by a turn that crashed, its lock 2 s from expiring: its first job finds it busy.
    await kit.redis.set(kit.keys.sessionLock(a), "999999", "PX", 2_000);
    const records = await receiveBatch();
    expect(records.map(jobIdOf)).toEqual([a1.jobId, a2.jobId, b1.jobId]);

    const response = await consume(deps(), records);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([records[0]!.messageId, records[1]!.messageId]);
    expect((await agentMessages(b)).map((m) => m.messageType)).toEqual(["AGENT_LOG", "CONVERSATION"]);
    expect(await agentMessages(a)).toEqual([]);
    // A's jobs come back once the lock has expired (2 s, rounded up, plus 1 s), not after the queue's 60 s.
    expect(await receiveBatch()).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    expect((await receiveBatch()).map(jobIdOf)).toEqual([a1.jobId, a2.jobId]);
  });

  it("never interleaves two turns of one session when two consumers race", async () => {
    kit.stack.model!.configure({ firstTokenMs: 300 });
    try {
      const sessionId = randomUUID();
      const [first, second] = [job(sessionId, "first racer"), job(sessionId, "second racer")];
      const record = (j: AgentJob): SQSRecord => ({ ...toSqsRecord({ MessageId: randomUUID(), ReceiptHandle: "stale", Body: JSON.stringify(j), Attributes: { MessageGroupId: sessionId, ApproximateReceiveCount: "1" } }, kit.queue.arn) });
      const results = await Promise.all([consume(deps(), [record(first)]), consume(deps(), [record(second)])]);
      expect(results.map((r) => r.batchItemFailures.length).sort()).toEqual([0, 1]);
      const loser = results[0]!.batchItemFailures.length ? first : second;
      await consume(deps(), [record(loser)]);
      const jobs = (await agentMessages(sessionId)).map((m) => m.jobId);
      expect(jobs).toHaveLength(4);
      // Each turn's messages are together: AGENT_LOG then CONVERSATION, one turn after the other.
      expect(jobs[0]).toBe(jobs[1]);
      expect(jobs[2]).toBe(jobs[3]);
      expect(jobs[1]).not.toBe(jobs[2]);
    } finally {
      kit.stack.model!.configure({ firstTokenMs: 20 });
    }
  });

  it("aborts a turn whose lock is lost: the OpenAI request is cut off and nothing more is written", async () => {
    kit.stack.model!.configure({ firstTokenMs: 5_000 });
    try {
      const sessionId = randomUUID();
      const lost = job(sessionId, "this turn will lose its lock");
      const record = toSqsRecord({ MessageId: randomUUID(), ReceiptHandle: "stale", Body: JSON.stringify(lost), Attributes: { MessageGroupId: sessionId, ApproximateReceiveCount: "1" } }, kit.queue.arn);
      const running = consume(deps(), [record]);
      await expect.poll(() => agentMessages(sessionId)).toHaveLength(1);
      // The lock expired and another turn took it.
      await kit.redis.set(kit.keys.sessionLock(sessionId), "424242", "PX", 30_000);
      const takenAt = Date.now();
      const response = await running;
      expect(Date.now() - takenAt).toBeLessThan(1_500);
      expect(response.batchItemFailures).toHaveLength(1);
      expect((await agentMessages(sessionId)).map((m) => m.messageType)).toEqual(["AGENT_LOG"]);
      expect(await kit.redis.exists(kit.keys.history(sessionId), kit.keys.previousResponseId(sessionId), kit.keys.job(sessionId, lost.jobId))).toBe(0);
      expect(await kit.redis.get(kit.keys.sessionLock(sessionId))).toBe("424242");
    } finally {
      kit.stack.model!.configure({ firstTokenMs: 20 });
    }
  });

  it("tells the user and retries when Redis is down", async () => {
    const sessionId = randomUUID();
    const j = job(sessionId, "Redis is down");
    const noRedis = deps({ redis: { host: "127.0.0.1", port: await freePort(), tls: false } });
    const record = toSqsRecord({ MessageId: randomUUID(), ReceiptHandle: "stale", Body: JSON.stringify(j), Attributes: { MessageGroupId: sessionId, ApproximateReceiveCount: "1" } }, kit.queue.arn);
    const response = await consume(noRedis, [record]);
    expect(response.batchItemFailures).toHaveLength(1);
    const notices = await agentMessages(sessionId);
    expect(notices.map((m) => [m.role, m.messageType, m.message])).toEqual([["SYSTEM", "SYSTEM_LOG", "The agent could not answer (attempt 1); retrying shortly…"]]);
    await expect.poll(() => failureOf(j.jobId)).toMatchObject({ attempt: 1, final: false, reason: expect.stringContaining("Redis") });
  });

  it("fails, releases the lock and reports DynamoDB errors", async () => {
    const sessionId = randomUUID();
    const j = job(sessionId, "DynamoDB is broken");
    const broken = deps({ tables: { ...settingsFromEnvironment().tables, messages: "NoSuchTable" } });
    const record = toSqsRecord({ MessageId: randomUUID(), ReceiptHandle: "stale", Body: JSON.stringify(j), Attributes: { MessageGroupId: sessionId, ApproximateReceiveCount: "1" } }, kit.queue.arn);
    const response = await consume(broken, [record]);
    expect(response.batchItemFailures).toHaveLength(1);
    expect(await kit.redis.exists(kit.keys.sessionLock(sessionId))).toBe(0);
    await expect.poll(() => failureOf(j.jobId)).toMatchObject({ attempt: 1, reason: expect.stringContaining("ResourceNotFoundException") });
  });

  it("finishes with the reply an earlier attempt stored instead of answering again", async () => {
    const sessionId = randomUUID();
    const j = job(sessionId, "answer me once");
    // The earlier attempt (of an earlier SQS message of the job: this is a first delivery) stored
    // and showed its AGENT_LOG and its reply, then failed before writing the turn.
    const log = await kit.messages.put({
      sessionId, messageId: agentMessageId(j.jobId, "log:received"), createdAt: Date.now(), role: "AGENT", messageType: "AGENT_LOG", message: "working on it", jobId: j.jobId,
    });
    // A failure's notice of the job, told by its AgentRunFailed: never announced as a message.
    await kit.messages.put({
      sessionId, messageId: agentMessageId(j.jobId, "failure:0"), createdAt: Date.now(), role: "SYSTEM", messageType: "SYSTEM_LOG", message: "retrying", jobId: j.jobId,
    });
    const earlier = await kit.messages.put({
      sessionId, messageId: agentMessageId(j.jobId, "reply"), createdAt: Date.now(), role: "AGENT", messageType: "CONVERSATION", message: "the answer the user saw", jobId: j.jobId,
    });
    await fetch(`${kit.stack.url}/dev/model`, { method: "POST", body: JSON.stringify({ mode: "fail" }) });
    try {
      const response = await consume(deps(), [recordOf(j)]);
      expect(response.batchItemFailures).toEqual([]);
    } finally {
      await fetch(`${kit.stack.url}/dev/model`, { method: "POST", body: JSON.stringify({ mode: "ok" }) });
    }
    expect((await agentMessages(sessionId)).filter((m) => m.messageType !== "SYSTEM_LOG")).toEqual([log.message, earlier.message]);
    expect(await kit.redis.get(kit.keys.job(sessionId, j.jobId))).toBe("completed");
    const history = (await kit.redis.lrange(kit.keys.history(sessionId), 0, -1)).map((item) => JSON.parse(item) as { message: string });
    expect(history.map((h) => h.message)).toEqual(["the answer the user saw", "answer me once"]);
    // The earlier attempt never announced the turn: this one does (a new chat's title waits on it),
    // without the usage and tool calls that attempt did not keep.
    await kit.stack.eventsDelivered();
    const completions = kit.stack.recentEvents().filter((e) => e["detail-type"] === "AgentRunCompleted" && (e.detail as { jobId?: string }).jobId === j.jobId);
    expect(completions.map((e) => e.detail)).toEqual([{ sessionId, jobId: j.jobId, userId: j.userId, durationMs: expect.any(Number) }]);
    // Nor did it announce its messages, having crashed outright (no failure path ran): this turn does, once each.
    expect(postedOf(sessionId)).toEqual([log.message.messageId, earlier.message.messageId]);
  });

  it("announces, once, the messages and question a delivery that crashed outright stored", async () => {
    const sessionId = randomUUID();
    const j: AgentJob = { ...job(sessionId, "the first delivery dies"), announce: true };
    // The first delivery stored and showed its AGENT_LOG, then its instance was killed: no events, nothing counted.
    const log = await kit.messages.put({
      sessionId, messageId: agentMessageId(j.jobId, "log:received"), createdAt: Date.now(), role: "AGENT", messageType: "AGENT_LOG", message: "working on it", jobId: j.jobId,
    });
    const messageId = randomUUID();
    expect((await consume(deps(), [recordOf(j, 2, messageId)])).batchItemFailures).toEqual([]);
    await kit.stack.eventsDelivered();
    const reply = (await agentMessages(sessionId)).at(-1)!;
    expect(postedOf(sessionId)).toEqual([j.messageId, log.message.messageId, reply.messageId]);
  });

  it("announces, once, a turn whose delivery was killed after writing it and before its events, and answers nothing again", async () => {
    const sessionId = randomUUID();
    const j: AgentJob = { ...job(sessionId, "killed before the events"), announce: true };
    // The first delivery stored and showed its AGENT_LOG and reply and wrote the turn to memory;
    // its instance was killed before the events went out, and its lock expired.
    // After the question, as the message clock places a turn's messages.
    const at = j.createdAt + 1;
    const log = await kit.messages.put({ sessionId, messageId: agentMessageId(j.jobId, "log:received"), createdAt: at, role: "AGENT", messageType: "AGENT_LOG", message: "working on it", jobId: j.jobId });
    const reply = await kit.messages.put({ sessionId, messageId: agentMessageId(j.jobId, "reply"), createdAt: at + 1, role: "AGENT", messageType: "CONVERSATION", message: "the answer the user saw", jobId: j.jobId });
    const first = await kit.locks.begin(sessionId, j.jobId, randomUUID());
    if (first.kind !== "started") throw new Error("not started");
    await new ConversationMemory(kit.redis, kit.keys, 10).writeTurn(first.lock, j.jobId, [{ messageId: j.messageId, role: "USER", message: j.message, createdAt: j.createdAt }, { messageId: reply.message.messageId, role: "AGENT", message: "the answer the user saw", createdAt: at + 1 }], "resp_1");
    await kit.redis.del(kit.keys.sessionLock(sessionId));
    const history = await kit.redis.lrange(kit.keys.history(sessionId), 0, -1);
    // The model is never asked again: it would fail.
    kit.stack.model!.configure({ mode: "fail" });
    try {
      const messageId = randomUUID();
      expect((await consume(deps(), [recordOf(j, 2, messageId)])).batchItemFailures).toEqual([]);
      // A later duplicate of the job finds it completed: nothing again.
      expect((await consume(deps(), [recordOf(j, 3, messageId)])).batchItemFailures).toEqual([]);
    } finally {
      kit.stack.model!.configure({ mode: "ok" });
    }
    await kit.stack.eventsDelivered();
    expect(postedOf(sessionId)).toEqual([j.messageId, log.message.messageId, reply.message.messageId]);
    const completions = kit.stack.recentEvents().filter((e) => e["detail-type"] === "AgentRunCompleted" && (e.detail as { jobId?: string }).jobId === j.jobId);
    expect(completions.map((e) => e.detail)).toEqual([{ sessionId, jobId: j.jobId, userId: j.userId, durationMs: expect.any(Number) }]);
    expect(await kit.redis.get(kit.keys.job(sessionId, j.jobId))).toBe("completed");
    // Nothing stored, shown or remembered twice.
    expect(await agentMessages(sessionId)).toEqual([log.message, reply.message]);
    expect(await kit.redis.lrange(kit.keys.history(sessionId), 0, -1)).toEqual(history);
  });

  it("fails a turn's delivery, silently, when its events cannot be published, and publishes them with the next one", async () => {
    const sessionId = randomUUID();
    const j = job(sessionId, "events, eventually");
    const bus = (fault: object | null) => fetch(`${kit.stack.url}/dev/bus`, { method: "POST", body: JSON.stringify({ fault }) });
    // EventBridge fails the turn's closing PutEvents past the SDK's retries.
    await bus({ mode: "fail", source: "azuchi.ai-agent", detailType: "AgentRunCompleted", requests: 100 });
    const messageId = randomUUID();
    try {
      expect((await consume(deps(), [recordOf(j, 1, messageId)])).batchItemFailures).toHaveLength(1);
    } finally {
      await bus(null);
    }
    // The user has the reply and is told of no failure; the job waits, written, for its events.
    const turn = await agentMessages(sessionId);
    expect(turn.map((m) => m.messageType)).toEqual(["AGENT_LOG", "CONVERSATION"]);
    expect(await kit.redis.get(kit.keys.job(sessionId, j.jobId))).toBe("written");
    expect((await consume(deps(), [recordOf(j, 2, messageId)])).batchItemFailures).toEqual([]);
    expect(await kit.redis.get(kit.keys.job(sessionId, j.jobId))).toBe("completed");
    await kit.stack.eventsDelivered();
    // Each message once (the failed delivery announced them without AgentRunCompleted), the turn completed once, nothing answered twice.
    expect(postedOf(sessionId)).toEqual(turn.map((m) => m.messageId));
    const completions = kit.stack.recentEvents().filter((e) => e["detail-type"] === "AgentRunCompleted" && (e.detail as { jobId?: string }).jobId === j.jobId);
    expect(completions).toHaveLength(1);
    expect(await agentMessages(sessionId)).toEqual(turn);
    expect(await kit.redis.llen(kit.keys.history(sessionId))).toBe(2);
  });

  it("announces nothing a failed delivery stored while Redis was away, and the next delivery announces it once", async () => {
    const sessionId = randomUUID();
    const j: AgentJob = { ...job(sessionId, "Redis goes away mid-turn"), announce: true };
    const agent = deps();
    // Redis goes away as the reply is written: the turn has stored its AGENT_LOG and reply, and
    // can neither write its memory nor record what it would announce.
    agent.messages = messagesWithFault(async ({ messageId }) => {
      if (messageId === agentMessageId(j.jobId, "reply")) agent.redis.disconnect();
    });
    const messageId = randomUUID();
    expect((await consume(agent, [recordOf(j, 1, messageId)])).batchItemFailures).toHaveLength(1);
    await kit.stack.eventsDelivered();
    expect(postedOf(sessionId)).toEqual([]);
    // Its lock, which it could not release, expires before the job comes back.
    await kit.redis.del(kit.keys.sessionLock(sessionId));
    expect((await consume(deps(), [recordOf(j, 2, messageId)])).batchItemFailures).toEqual([]);
    await kit.stack.eventsDelivered();
    const turn = (await agentMessages(sessionId)).filter((m) => m.messageType !== "SYSTEM_LOG");
    expect(turn.map((m) => m.messageType)).toEqual(["AGENT_LOG", "CONVERSATION"]);
    expect(postedOf(sessionId)).toEqual([j.messageId, ...turn.map((m) => m.messageId)]);
  });

  it("announces once what a failed delivery announced before it failed", async () => {
    const sessionId = randomUUID();
    const j = job(sessionId, "fail once, then answer");
    const agent = deps({ openai: { ...settingsFromEnvironment().openai, maxRetries: 0 } });
    kit.stack.model!.configure({ mode: "fail", faultRequests: 1 });
    const messageId = randomUUID();
    expect((await consume(agent, [recordOf(j, 1, messageId)])).batchItemFailures).toHaveLength(1);
    expect((await consume(agent, [recordOf(j, 2, messageId)])).batchItemFailures).toEqual([]);
    await kit.stack.eventsDelivered();
    // The failure's own notice (a SYSTEM_LOG the consumer stores) aside, each of the turn's messages once.
    const turn = (await agentMessages(sessionId)).filter((m) => m.messageType !== "SYSTEM_LOG");
    const [log, reply] = turn;
    expect(postedOf(sessionId)).toEqual([log!.messageId, reply!.messageId]);
  });

  it("completes a turn even when no tab can be reached", async () => {
    const sessionId = randomUUID();
    const j = job(sessionId, "nobody is listening");
    await new ConnectionsRepository(createDocumentClient(), settingsFromEnvironment().tables.connections).put({ connectionId: "Unreachable0000=", sessionId, userId: "consumer-test", connectedAt: Date.now() });
    // Every PostToConnection fails (connection refused), which is not a 410: the tab is kept.
    const unreachable = deps({ managementEndpoint: `http://127.0.0.1:${await freePort()}/local` });
    const response = await consume(unreachable, [recordOf(j)]);
    expect(response.batchItemFailures).toEqual([]);
    expect((await agentMessages(sessionId)).map((m) => m.messageType)).toEqual(["AGENT_LOG", "CONVERSATION"]);
    expect(await kit.redis.get(kit.keys.job(sessionId, j.jobId))).toBe("completed");
  });

  it("rewrites the same plan and tool messages, not new ones, when a turn is run again", async () => {
    const sessionId = randomUUID();
    const j = job(sessionId, "plan my day and tell me the time");
    await consume(deps(), [recordOf(j)]);
    const first = await agentMessages(sessionId);
    expect(first.map((m) => m.messageType)).toEqual(["AGENT_LOG", "PLAN", "PLAN", "AGENT_LOG", "AGENT_LOG", "PLAN", "CONVERSATION"]);
    // As if the turn had failed just before its reply: no reply, no record of completion.
    await kit.redis.del(kit.keys.job(sessionId, j.jobId), kit.keys.history(sessionId));
    const doc = createDocumentClient();
    await doc.send(new DeleteCommand({ TableName: settingsFromEnvironment().tables.messages, Key: { sessionId, createdAt: first.at(-1)!.createdAt } }));
    await doc.send(new DeleteCommand({ TableName: settingsFromEnvironment().tables.messageIds, Key: { messageId: first.at(-1)!.messageId } }));
    await consume(deps(), [recordOf(j)]);
    const second = await agentMessages(sessionId);
    expect(second.map((m) => m.messageId)).toEqual(first.map((m) => m.messageId));
  });

  it("publishes an announced job's USER MessagePosted once, as chat's, with its turn's events, though the turn is retried", async () => {
    const sessionId = randomUUID();
    const announced: AgentJob = { ...job(sessionId, "announce me once"), announce: true };
    const quiet = job(sessionId, "a retry's job announces nothing");
    const ofSession = () =>
      kit.stack
        .recentEvents()
        .filter((e) => (e.detail as { sessionId?: string }).sessionId === sessionId)
        .map((e) => ({ source: e.source, type: e["detail-type"], role: (e.detail as { role?: string }).role, messageId: (e.detail as { messageId?: string }).messageId }));
    // The first attempt fails after its AGENT_LOG (the model fails, not retried by the client); the second answers.
    const agent = deps({ openai: { ...settingsFromEnvironment().openai, maxRetries: 0 } });
    kit.stack.model!.configure({ mode: "fail", faultRequests: 1 });
    const messageId = randomUUID();
    expect((await consume(agent, [recordOf(announced, 1, messageId)])).batchItemFailures).toHaveLength(1);
    expect((await consume(agent, [recordOf(announced, 2, messageId)])).batchItemFailures).toEqual([]);
    expect((await consume(agent, [recordOf(quiet)])).batchItemFailures).toEqual([]);
    await kit.stack.eventsDelivered();
    const users = ofSession().filter((e) => e.type === "MessagePosted" && e.role === "USER");
    expect(users).toEqual([{ source: "azuchi.chat", type: "MessagePosted", role: "USER", messageId: announced.messageId }]);
    // Once a turn: the retried job's AgentRunCompleted and the quiet one's.
    expect(ofSession().filter((e) => e.type === "AgentRunCompleted")).toHaveLength(2);
  });

  it("sends a malformed job straight to the dead-letter queue instead of retrying it", async () => {
    const record = toSqsRecord({ MessageId: randomUUID(), ReceiptHandle: "stale", Body: '{"v":1,"jobId":"not-a-uuid"}', Attributes: { MessageGroupId: "poison", ApproximateReceiveCount: "1" } }, kit.queue.arn);
    const response = await consume(deps(), [record]);
    expect(response.batchItemFailures).toEqual([]);
    const { Messages = [] } = await kit.sqs.send(new ReceiveMessageCommand({ QueueUrl: kit.queue.dlq, MessageAttributeNames: ["All"], WaitTimeSeconds: 1 }));
    expect(Messages.map((m) => m.Body)).toContain('{"v":1,"jobId":"not-a-uuid"}');
    expect(Messages[0]!.MessageAttributes?.reason?.StringValue).toMatch(/invalid agent job/);
  });
});

import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { settingsFromEnvironment, type AgentDeps } from "@azuchi/agent";
import { toDeadLetter } from "../../packages/ops/src/dead-letter.ts";
import { sendBack } from "../../packages/ops/src/replay.ts";
import { agentMessageId, type AgentJob, type Message } from "@azuchi/core";
import { freePort } from "../../packages/local/src/net.ts";
import { messageFrame, messagesIn, where } from "../support/frames.ts";
import { useConsumerKit } from "../support/consumer-kit.ts";

// The file's queue dead-letters a job after 3 receives, as the redrive policy does in AWS.
const MAX_RECEIVES = 3;
const kit = useConsumerKit("give-up", { maxReceiveCount: MAX_RECEIVES });
const settings = { maxReceives: MAX_RECEIVES, retryBaseSeconds: 1 };

const gaveUp = "The agent could not answer this message after several attempts. It has been set aside for the operators; please try again later.";

const isFinal = (message: Message) => (message.payload as { final?: boolean } | undefined)?.final === true;

async function notices(sessionId: string) {
  return (await kit.agentMessages(sessionId)).filter((m) => m.messageType === "SYSTEM_LOG").map((m) => m.message);
}

/** Receives the job as the queue hands it out and drops it, as a consumer that crashed mid-turn would. */
async function crashOnReceive(job: AgentJob): Promise<number> {
  const { Messages = [] } = await kit.sqs.send(new ReceiveMessageCommand({ QueueUrl: kit.queue.url, MessageSystemAttributeNames: ["All"], WaitTimeSeconds: 2 }));
  const message = Messages.find((m) => m.Body && (JSON.parse(m.Body) as AgentJob).jobId === job.jobId);
  if (!message) throw new Error("the job was not received");
  // The crashed turn's visibility timeout, run out at once.
  await kit.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: kit.queue.url, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }));
  return Number(message.Attributes?.ApproximateReceiveCount);
}

describe("a job that reaches the dead-letter queue", () => {
  it("is given up by the agent, with the user told and the reason recorded, when Redis is down on every receive", async () => {
    const sessionId = crypto.randomUUID();
    const job = kit.job(sessionId, "Redis is down for good");
    const noRedis = kit.deps({ ...settings, redis: { host: "127.0.0.1", port: await freePort(), tls: false } });
    await kit.enqueue(job);
    // Consume every receive the queue hands out, until it has none left for this job.
    for (let receive = 0; receive < MAX_RECEIVES + 1; receive++) {
      const records = await kit.receiveBatch(3);
      if (records.length === 0) break;
      await kit.consume(noRedis, records);
    }
    expect(await notices(sessionId)).toEqual(["The agent could not answer (attempt 1); retrying shortly…", gaveUp]);
    const final = kit.failuresOf(job.jobId).at(-1);
    expect(final).toMatchObject({ final: true, reason: expect.stringContaining("Redis") });
    const dead = await kit.deadLetters();
    expect(dead.map((m) => (JSON.parse(m.Body!) as AgentJob).jobId)).toEqual([job.jobId]);
    // Dead-lettered by the agent, with its reason, not moved silently by the redrive policy.
    expect(dead[0]!.MessageAttributes?.reason?.StringValue).toMatch(/Redis/);
  });

  it("announces the question of a job given up before its turn stored anything, and its replay does not announce it again", async () => {
    const tab = await kit.stack.connect("announced-give-up");
    const sessionId = await kit.stack.sessionOf(tab);
    // A chat's message whose turn announces it (chat left that to the turn).
    const job: AgentJob = { ...kit.job(sessionId, "announced, though given up", "announced-give-up"), announce: true };
    /** Consumes what the queue hands out and deletes what succeeded, as Lambda's event source mapping does. */
    const consumeUntil = async (agent: AgentDeps, done: () => Promise<boolean>) => {
      for (let receive = 0; receive < MAX_RECEIVES + 1 && !(await done()); receive++) {
        const records = await kit.receiveBatch(3);
        const { batchItemFailures } = await kit.consume(agent, records);
        for (const record of records.filter((r) => !batchItemFailures.some((f) => f.itemIdentifier === r.messageId))) {
          await kit.sqs.send(new DeleteMessageCommand({ QueueUrl: kit.queue.url, ReceiptHandle: record.receiptHandle }));
        }
      }
    };
    const posted = () => kit.stack.recentEvents().filter((e) => e["detail-type"] === "MessagePosted" && (e.detail as { sessionId: string }).sessionId === sessionId).map((e) => (e.detail as { messageId: string }).messageId);
    const letterOf = async () => {
      const { Messages = [] } = await kit.sqs.send(new ReceiveMessageCommand({ QueueUrl: kit.queue.dlq, MaxNumberOfMessages: 10, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"], WaitTimeSeconds: 1 }));
      return Messages.find((m) => m.Body && (JSON.parse(m.Body) as AgentJob).jobId === job.jobId);
    };
    await kit.enqueue(job);
    let dead: Awaited<ReturnType<typeof letterOf>>;
    await consumeUntil(kit.deps({ ...settings, redis: { host: "127.0.0.1", port: await freePort(), tls: false } }), async () => (dead ??= await letterOf()) !== undefined);
    await kit.stack.eventsDelivered();
    // Given up before anything was stored: its question announced all the same, once.
    expect(posted()).toEqual([job.messageId]);
    // Its letter no longer asks a replay to announce the question.
    expect(JSON.parse(dead!.Body!)).not.toHaveProperty("announce");

    // Replayed once Redis is back: answered, and the question announced once in all.
    await sendBack({ kind: "local", sqs: kit.sqs, jobs: { url: kit.queue.url }, dlq: { url: kit.queue.dlq } }, toDeadLetter(dead!));
    await consumeUntil(kit.deps(settings), async () => (await kit.redis.get(kit.keys.job(sessionId, job.jobId))) === "completed");
    await kit.stack.eventsDelivered();
    const turn = (await kit.agentMessages(sessionId)).filter((m) => m.messageType !== "SYSTEM_LOG");
    expect(turn.map((m) => m.messageType)).toEqual(["AGENT_LOG", "CONVERSATION"]);
    expect(posted()).toEqual([job.messageId, ...turn.map((m) => m.messageId)]);
    await tab.close();
  });

  it("is given up with the reason when Redis refuses writes (out of memory), the failure uncounted but final on the receive before the last", async () => {
    const sessionId = crypto.randomUUID();
    const job = kit.job(sessionId, "Redis is full");
    const agent = kit.deps(settings);
    await kit.redis.config("SET", "maxmemory", "1");
    try {
      const first = await kit.consume(agent, [kit.recordOf(job, 1, "oom-message")]);
      expect(first.batchItemFailures).toHaveLength(1);
      const second = await kit.consume(agent, [kit.recordOf(job, MAX_RECEIVES - 1, "oom-message")]);
      expect(second.batchItemFailures).toEqual([]);
    } finally {
      await kit.redis.config("SET", "maxmemory", "0");
    }
    expect(await notices(sessionId)).toEqual(["The agent could not answer (attempt 1); retrying shortly…", gaveUp]);
    await expect.poll(() => kit.failuresOf(job.jobId).at(-1)).toMatchObject({ final: true, reason: expect.stringContaining("OOM") });
    const dead = await kit.deadLetters();
    expect(dead.map((m) => (JSON.parse(m.Body!) as AgentJob).jobId)).toEqual([job.jobId]);
  });

  it("keeps the last receive for giving up, when the earlier receives crashed", async () => {
    const tab = await kit.stack.connect("give-up");
    const sessionId = await kit.stack.sessionOf(tab);
    const job = kit.job(sessionId, "every turn of mine crashes", "give-up");
    await kit.enqueue(job);
    expect(await crashOnReceive(job)).toBe(1);
    expect(await crashOnReceive(job)).toBe(2);
    const records = await kit.receiveBatch(2);
    expect(records.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(["3"]);
    const response = await kit.consume(kit.deps(settings), records);
    expect(response.batchItemFailures).toEqual([]);
    // Not run again (it would only crash): given up, and the user told at once.
    expect((await kit.agentMessages(sessionId)).map((m) => [m.messageType, m.message])).toEqual([["SYSTEM_LOG", gaveUp]]);
    await tab.waitFor(where(messageFrame("SYSTEM_LOG", "SYSTEM"), (f) => isFinal(f.message)));
    expect(kit.failuresOf(job.jobId)).toEqual([expect.objectContaining({ final: true, attempt: 3, reason: expect.stringContaining("received 3 times") })]);
    const dead = await kit.deadLetters();
    expect(dead.map((m) => (JSON.parse(m.Body!) as AgentJob).jobId)).toEqual([job.jobId]);
    expect(dead[0]!.MessageAttributes?.reason?.StringValue).toMatch(/ReceivesExhaustedError/);
    await tab.close();
  });

  it("is not given up on its last receive when a crashed attempt had already completed it", async () => {
    const sessionId = crypto.randomUUID();
    const job = kit.job(sessionId, "answered, then the consumer died");
    expect((await kit.consume(kit.deps(settings), [kit.recordOf(job, 1)])).batchItemFailures).toEqual([]);
    const before = await kit.agentMessages(sessionId);
    expect((await kit.consume(kit.deps(settings), [kit.recordOf(job, MAX_RECEIVES)])).batchItemFailures).toEqual([]);
    expect(await kit.agentMessages(sessionId)).toEqual(before);
    expect(kit.failuresOf(job.jobId)).toEqual([]);
  });

  it("finishes on its last receive a reply an earlier attempt stored, telling the user nothing more", async () => {
    const sessionId = crypto.randomUUID();
    const job = kit.job(sessionId, "stored, not written");
    const earlier = await kit.messages.put({ sessionId, messageId: agentMessageId(job.jobId, "reply"), createdAt: Date.now(), role: "AGENT", messageType: "CONVERSATION", message: "the answer the user saw", jobId: job.jobId });
    expect((await kit.consume(kit.deps(settings), [kit.recordOf(job, MAX_RECEIVES)])).batchItemFailures).toEqual([]);
    expect(await kit.agentMessages(sessionId)).toEqual([earlier.message]);
    expect(await kit.redis.get(kit.keys.job(sessionId, job.jobId))).toBe("completed");
  });
});

describe("a failure after the reply was stored and shown", () => {
  it("is given up on the job's last receive without telling the user the agent could not answer", async () => {
    const sessionId = crypto.randomUUID();
    const job = kit.job(sessionId, "shown, never written");
    const reply = await kit.messages.put({ sessionId, messageId: agentMessageId(job.jobId, "reply"), createdAt: Date.now(), role: "AGENT", messageType: "CONVERSATION", message: "the answer the user saw", jobId: job.jobId });
    // The turn's memory cannot be written (the history is not a list).
    await kit.redis.set(kit.keys.history(sessionId), "not a list");
    expect((await kit.consume(kit.deps(settings), [kit.recordOf(job, MAX_RECEIVES)])).batchItemFailures).toEqual([]);
    expect(await kit.agentMessages(sessionId)).toEqual([reply.message]);
    await expect.poll(() => kit.failuresOf(job.jobId).at(-1)).toMatchObject({ final: true, reason: expect.stringContaining("WRONGTYPE") });
    const dead = await kit.deadLetters();
    expect(dead.map((m) => (JSON.parse(m.Body!) as AgentJob).jobId)).toEqual([job.jobId]);
  });

  it("is retried without telling the user it failed, and the retry finishes the turn", async () => {
    const tab = await kit.stack.connect("shown");
    const sessionId = await kit.stack.sessionOf(tab);
    const agent = kit.deps(settings);
    // A first exchange, so the second turn goes by previous_response_id and does not read the history.
    expect((await kit.consume(agent, [kit.recordOf(kit.job(sessionId, "first", "shown"))])).batchItemFailures).toEqual([]);
    // The history is now a string: the turn's fenced write fails (WRONGTYPE) after its reply is stored.
    await kit.redis.set(kit.keys.history(sessionId), "not a list");
    const job = kit.job(sessionId, "second", "shown");
    const record = kit.recordOf(job, 1);
    expect((await kit.consume(agent, [record])).batchItemFailures).toHaveLength(1);
    const reply = await tab.waitFor(where(messageFrame("CONVERSATION", "AGENT"), (f) => f.message.jobId === job.jobId));
    expect(kit.failuresOf(job.jobId)).toEqual([expect.objectContaining({ final: false, reason: expect.stringContaining("WRONGTYPE") })]);

    await kit.redis.del(kit.keys.history(sessionId));
    expect((await kit.consume(agent, [{ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: "2" } }])).batchItemFailures).toEqual([]);
    expect(await kit.redis.get(kit.keys.job(sessionId, job.jobId))).toBe("completed");
    const mine = (await kit.agentMessages(sessionId)).filter((m) => m.jobId === job.jobId);
    expect(mine.map((m) => m.messageType)).toEqual(["AGENT_LOG", "CONVERSATION"]);
    expect(mine[1]).toEqual(reply.message);
    expect(messagesIn(tab.frames).filter((m) => m.messageType === "SYSTEM_LOG")).toEqual([]);
    await tab.close();
  });
});

describe("a job the redrive policy dead-lettered, replayed", () => {
  it("gets its full attempts again, though the agent never gave it up (its dead-letter send failed)", async () => {
    const tab = await kit.stack.connect("replayed");
    const sessionId = await kit.stack.sessionOf(tab);
    const job = kit.job(sessionId, "my job outlives its dead letter", "replayed");
    // Two attempts per job, and the model's own retries off, so each failure is one attempt.
    const twoAttempts = { ...settings, maxAttempts: 2, openai: { ...settingsFromEnvironment().openai, maxRetries: 0 } };
    // The agent's give-up cannot reach its dead-letter queue: the redrive policy moves the job.
    const noDlq = kit.deps({ ...twoAttempts, deadLetterQueueUrl: kit.queue.dlq.replace(/[^/]+$/, "no-such-dlq.fifo") });
    kit.stack.model!.configure({ mode: "fail", faultRequests: 2 });
    await kit.enqueue(job);
    for (let receive = 0; receive < MAX_RECEIVES + 2; receive++) {
      const records = await kit.receiveBatch(3);
      if (records.length === 0) break;
      expect((await kit.consume(noDlq, records)).batchItemFailures).toHaveLength(1);
    }
    // Both attempts were counted and spent before the job left the queue.
    expect(kit.failuresOf(job.jobId).map((f) => [f.attempt, f.final])).toEqual([[1, false], [2, true], [3, true]]);
    const { Messages = [] } = await kit.sqs.send(new ReceiveMessageCommand({ QueueUrl: kit.queue.dlq, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"], WaitTimeSeconds: 2 }));
    const letter = toDeadLetter(Messages.find((m) => m.Body && (JSON.parse(m.Body) as AgentJob).jobId === job.jobId)!);
    expect(letter.movedBy).toBe("redrive-policy");

    // Replayed as azuchi-ops dlq replay sends it (a new message, with replayOf), the model failing once more, then healed.
    const before = kit.failuresOf(job.jobId).length;
    await sendBack({ kind: "local", sqs: kit.sqs, jobs: { url: kit.queue.url }, dlq: { url: kit.queue.dlq } }, letter);
    kit.stack.model!.configure({ mode: "fail", faultRequests: 1 });
    const agent = kit.deps(twoAttempts);
    for (let receive = 0; receive < MAX_RECEIVES && (await kit.redis.get(kit.keys.job(sessionId, job.jobId))) !== "completed"; receive++) {
      const records = await kit.receiveBatch(3);
      if (records.length > 0) await kit.consume(agent, records);
    }
    // Its first failure is attempt 1 of 2, retried: not the third of a spent count, given up at once.
    expect(kit.failuresOf(job.jobId).slice(before).map((f) => [f.attempt, f.final])).toEqual([[1, false]]);
    expect(await kit.redis.get(kit.keys.job(sessionId, job.jobId))).toBe("completed");
    const reply = await tab.waitFor(where(messageFrame("CONVERSATION", "AGENT"), (f) => f.message.jobId === job.jobId), 20_000);
    expect(reply.message.message).toContain("my job outlives its dead letter");
    await tab.close();
  });
});

import { describe, expect, it } from "vitest";
import { agentMessageId, STOP_FLAG_SECONDS, type Message } from "@azuchi/core";
import { ackOf, messageFrame, messagesIn, where } from "../support/frames.ts";
import type { TestClient } from "../support/ws-client.ts";
import { messagesWithFault, useConsumerKit } from "../support/consumer-kit.ts";

// Retries wait 2 s, then 8 s: time enough to press Stop while a job waits; no retries inside the OpenAI client.
const kit = useConsumerKit("stop", { stack: { environment: { AZUCHI_RETRY_BASE_SECONDS: "2", AZUCHI_OPENAI_MAX_RETRIES: "0" } } });
const agentReply = messageFrame("CONVERSATION", "AGENT");

async function setModel(mode: "ok" | "fail") {
  await fetch(`${kit.stack.url}/dev/model`, { method: "POST", body: JSON.stringify({ mode }) });
}

async function replyTo(tab: TestClient, text: string): Promise<Message> {
  const userMessage = await tab.waitFor(ackOf(text));
  return (await tab.waitFor(where(agentReply, (f) => f.message.jobId === userMessage.message.messageId))).message;
}

describe("stopGeneration", () => {
  it("raises the session's stop flag with the time of the request, for as long as a job may wait between attempts", async () => {
    const tab = await kit.stack.connect("stop-flag");
    const sessionId = await kit.stack.sessionOf(tab);
    const before = Date.now();
    tab.send({ action: "stopGeneration" });
    await expect.poll(() => kit.redis.get(kit.keys.stop(sessionId))).not.toBeNull();
    const requestedAt = Number(await kit.redis.get(kit.keys.stop(sessionId)));
    expect(requestedAt).toBeGreaterThanOrEqual(before);
    expect(requestedAt).toBeLessThanOrEqual(Date.now());
    const ttl = await kit.redis.ttl(kit.keys.stop(sessionId));
    expect(ttl).toBeGreaterThan(STOP_FLAG_SECONDS - 5);
    expect(ttl).toBeLessThanOrEqual(STOP_FLAG_SECONDS);
    // Longer than a crashed turn's visibility timeout (240 s deployed) and the longest retry delay (300 s).
    expect(STOP_FLAG_SECONDS).toBeGreaterThan(300);
    await kit.redis.del(kit.keys.stop(sessionId));
    await tab.close();
  });
});

describe("a stop pressed when no turn is running", () => {
  it("stops the job waiting to retry: its next attempt ends stopped instead of answering", async () => {
    await setModel("fail");
    try {
      const tab = await kit.stack.connect("stop-retry");
      const sessionId = await kit.stack.sessionOf(tab);
      tab.send({ action: "putMessage", message: "answer after a retry" });
      await tab.waitFor(where(messageFrame("SYSTEM_LOG", "SYSTEM"), (f) => (f.message.payload as { final?: boolean } | undefined)?.final === false));
      tab.send({ action: "stopGeneration" });
      await expect.poll(() => kit.redis.exists(kit.keys.stop(sessionId))).toBe(1);
      await setModel("ok");
      const reply = await replyTo(tab, "answer after a retry");
      expect(reply).toMatchObject({ stopped: true, message: "" });
      await expect.poll(() => kit.redis.get(kit.keys.job(sessionId, reply.jobId!))).toBe("completed");
      expect(await kit.redis.exists(kit.keys.stop(sessionId))).toBe(0);
      // Nothing more for that job: no further retry, no second reply.
      tab.send({ action: "putMessage", message: "and the next one is answered" });
      expect((await replyTo(tab, "and the next one is answered")).stopped).toBeUndefined();
      expect(messagesIn(tab.frames).filter((m) => m.jobId === reply.jobId && m.messageType === "CONVERSATION")).toHaveLength(1);
      await tab.close();
    } finally {
      await setModel("ok");
    }
  });

  it("stops the job queued behind a crashed turn's lock, once it runs", async () => {
    const tab = await kit.stack.connect("stop-queued");
    const sessionId = await kit.stack.sessionOf(tab);
    // A turn that crashed holds the session for 2 more seconds: the job waits in the queue.
    await kit.redis.set(kit.keys.sessionLock(sessionId), "1", "PX", 2_000);
    tab.send({ action: "putMessage", message: "queued, then stopped" });
    await tab.waitFor((f) => f.type === "ack");
    tab.send({ action: "stopGeneration" });
    await expect.poll(() => kit.redis.exists(kit.keys.stop(sessionId))).toBe(1);
    const reply = await replyTo(tab, "queued, then stopped");
    expect(reply.stopped).toBe(true);
    expect(messagesIn(tab.frames).filter((m) => m.jobId === reply.jobId && m.role === "AGENT").map((m) => m.messageType)).toEqual(["CONVERSATION"]);
    await tab.close();
  });
});

describe("a stop meant for a turn that ended", () => {
  it("does not stop the next message's turn when the running turn finished before it saw the stop", async () => {
    const sessionId = crypto.randomUUID();
    const [first, second] = [kit.job(sessionId, "finishes anyway"), kit.job(sessionId, "must not be stopped")];
    // Heartbeats too far apart to see the stop: the first turn completes as if it had just missed it.
    const agent = kit.deps({ heartbeatMs: 60_000 });
    kit.stack.model!.configure({ firstTokenMs: 800 });
    const running = kit.consume(agent, [kit.recordOf(first)]).finally(() => kit.stack.model!.configure({ firstTokenMs: 20 }));
    await expect.poll(() => kit.agentMessages(sessionId)).toHaveLength(1);
    const requestedAt = Date.now();
    await kit.redis.set(kit.keys.stop(sessionId), String(requestedAt), "EX", 60);
    expect((await running).batchItemFailures).toEqual([]);
    // The stop came while the first turn ran (before its reply), and after both messages were stored.
    expect((await kit.agentMessages(sessionId)).at(-1)!.createdAt).toBeGreaterThan(requestedAt);
    expect(second.createdAt).toBeLessThanOrEqual(requestedAt);
    expect((await kit.consume(agent, [kit.recordOf(second)])).batchItemFailures).toEqual([]);
    const replies = (await kit.agentMessages(sessionId)).filter((m) => m.messageType === "CONVERSATION");
    expect(replies.map((m) => [m.jobId, m.stopped])).toEqual([[first.jobId, undefined], [second.jobId, undefined]]);
  });

  it("is spent when the job it was meant for is given up, so the next message is answered", async () => {
    const sessionId = crypto.randomUUID();
    const [doomed, next] = [kit.job(sessionId, "given up on its last attempt"), kit.job(sessionId, "answered as usual")];
    const record = kit.recordOf(doomed);
    await kit.redis.set(kit.keys.jobAttempts(sessionId, doomed.jobId, record.messageId), String(2));
    // The doomed job's reply cannot be stored: its last attempt fails after the user pressed Stop.
    const agent = kit.deps({ heartbeatMs: 60_000 });
    agent.messages = messagesWithFault(async ({ messageId }) => {
      if (messageId === agentMessageId(doomed.jobId, "reply")) throw new Error("DynamoDB is down for this write");
    });
    kit.stack.model!.configure({ firstTokenMs: 800 });
    const running = kit.consume(agent, [record]).finally(() => kit.stack.model!.configure({ firstTokenMs: 20 }));
    await expect.poll(() => kit.agentMessages(sessionId)).toHaveLength(1);
    await kit.redis.set(kit.keys.stop(sessionId), String(Date.now()), "EX", 60);
    expect((await running).batchItemFailures).toEqual([]);
    expect(await kit.agentMessages(sessionId)).toHaveLength(2);
    await expect.poll(() => kit.failuresOf(doomed.jobId).at(-1)).toMatchObject({ final: true });
    expect(await kit.redis.exists(kit.keys.stop(sessionId))).toBe(0);
    expect((await kit.consume(kit.deps(), [kit.recordOf(next)])).batchItemFailures).toEqual([]);
    const reply = (await kit.agentMessages(sessionId)).find((m) => m.jobId === next.jobId && m.messageType === "CONVERSATION");
    expect(reply).toMatchObject({ message: expect.stringContaining("answered as usual") });
    expect(reply?.stopped).toBeUndefined();
  });
});

import { describe, expect, it } from "vitest";
import { useConsumerKit } from "../support/consumer-kit.ts";

const kit = useConsumerKit("lock-fencing");

describe("a turn and its session lock", () => {
  it("writes nothing when, gone stale, it reaches the fenced write against a new lock holder: lock-lost, nobody told", async () => {
    const sessionId = crypto.randomUUID();
    const stale = kit.job(sessionId, "I will lose my lock without noticing");
    // A short lock that this turn never renews (heartbeats a minute apart), and a model slower than the lock.
    const agent = kit.deps({ lockTtlMs: 300, heartbeatMs: 60_000 });
    kit.stack.model!.configure({ firstTokenMs: 1_500 });
    try {
      const record = kit.recordOf(stale);
      const running = kit.consume(agent, [record]);
      await expect.poll(() => kit.agentMessages(sessionId)).toHaveLength(1);
      await expect.poll(() => kit.redis.exists(kit.keys.sessionLock(sessionId))).toBe(0);
      // Another turn takes the session while the stale one still streams.
      const holder = await kit.locks.begin(sessionId, crypto.randomUUID(), crypto.randomUUID());
      if (holder.kind !== "started") throw new Error(`the new holder could not start: ${holder.kind}`);
      const response = await running;
      expect(response.batchItemFailures).toHaveLength(1);
      // The stale turn got as far as its reply, then the fenced write refused it.
      expect((await kit.agentMessages(sessionId)).map((m) => m.messageType)).toEqual(["AGENT_LOG", "CONVERSATION"]);
      expect(await kit.redis.exists(kit.keys.history(sessionId), kit.keys.previousResponseId(sessionId), kit.keys.job(sessionId, stale.jobId))).toBe(0);
      expect(await kit.redis.get(kit.keys.sessionLock(sessionId))).toBe(String(holder.lock.token));
      // Not a failure of the job: not counted, no notice, no AgentRunFailed.
      expect(await kit.redis.exists(kit.keys.jobAttempts(sessionId, stale.jobId, record.messageId))).toBe(0);
      expect((await kit.agentMessages(sessionId)).filter((m) => m.messageType === "SYSTEM_LOG")).toEqual([]);
      expect(kit.failuresOf(stale.jobId)).toEqual([]);
      await kit.locks.releaseLock(holder.lock);
    } finally {
      kit.stack.model!.configure({ firstTokenMs: 20 });
    }
  });

  it("keeps its lock by renewal through a turn several times longer than the lock's TTL", async () => {
    const sessionId = crypto.randomUUID();
    const job = kit.job(sessionId, "a long answer");
    const agent = kit.deps({ lockTtlMs: 400, heartbeatMs: 100 });
    kit.stack.model!.configure({ firstTokenMs: 1_600 });
    try {
      const running = kit.consume(agent, [kit.recordOf(job)]);
      await expect.poll(() => kit.agentMessages(sessionId)).toHaveLength(1);
      // Past the lock's first TTL and well into the turn, the session is still held.
      const begunAt = Date.now();
      const rivals: string[] = [];
      while (Date.now() - begunAt < 1_000) {
        rivals.push((await kit.locks.begin(sessionId, crypto.randomUUID(), crypto.randomUUID())).kind);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(new Set(rivals)).toEqual(new Set(["busy"]));
      expect((await running).batchItemFailures).toEqual([]);
      expect(await kit.redis.get(kit.keys.job(sessionId, job.jobId))).toBe("completed");
      expect((await kit.agentMessages(sessionId)).map((m) => m.messageType)).toEqual(["AGENT_LOG", "CONVERSATION"]);
    } finally {
      kit.stack.model!.configure({ firstTokenMs: 20 });
    }
  });
});

import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConversationMemory } from "../../packages/agent/src/conversation-memory.ts";
import { countFailedAttempt } from "../../packages/agent/src/job-attempts.ts";
import { acquire, useTurnRedis } from "../support/turn-redis.ts";

const ctx = useTurnRedis();

describe("the session lock", () => {
  it("is taken with SET NX PX under the seed's key, its value a fencing token", async () => {
    const sessionId = randomUUID();
    const lock = (await acquire(ctx.locks, sessionId))!;
    expect(lock).toEqual({ sessionId, token: expect.any(Number) });
    expect(await ctx.redis.get(`azuchi:ai-agent:lock:session:{${sessionId}}`)).toBe(String(lock.token));
    const ttl = await ctx.redis.pttl(`azuchi:ai-agent:lock:session:{${sessionId}}`);
    expect(ttl).toBeGreaterThan(29_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it("refuses a second holder while the first holds it", async () => {
    const sessionId = randomUUID();
    expect(await acquire(ctx.locks, sessionId)).toBeDefined();
    const busy = await ctx.locks.begin(sessionId, randomUUID(), randomUUID());
    expect(busy).toMatchObject({ kind: "busy" });
    // It says how long the holder keeps the lock at most, so the job is retried no sooner.
    expect(busy.kind === "busy" && busy.retryAfterMs).toBeGreaterThan(29_000);
  });

  it("does not block other sessions", async () => {
    expect(await acquire(ctx.locks, randomUUID())).toBeDefined();
    expect(await acquire(ctx.locks, randomUUID())).toBeDefined();
  });

  it("is released only by its owner", async () => {
    const sessionId = randomUUID();
    const mine = (await acquire(ctx.locks, sessionId))!;
    expect(await ctx.locks.releaseLock({ sessionId, token: mine.token + 41 })).toBe(false);
    expect(await acquire(ctx.locks, sessionId)).toBeUndefined();
    expect(await ctx.locks.releaseLock(mine)).toBe(true);
    expect(await acquire(ctx.locks, sessionId)).toBeDefined();
  });

  it("is freed by its expiry, and the next holder gets a larger token", async () => {
    const sessionId = randomUUID();
    const first = (await acquire(ctx.locks, sessionId, 50))!;
    await new Promise((resolve) => setTimeout(resolve, 80));
    const second = (await acquire(ctx.locks, sessionId))!;
    expect(second.token).toBeGreaterThan(first.token);
    // The expired holder can neither release nor renew what is now someone else's.
    expect(await ctx.locks.releaseLock(first)).toBe(false);
    expect((await ctx.locks.heartbeat(first)).held).toBe(false);
    expect(await ctx.redis.get(ctx.keys.sessionLock(sessionId))).toBe(String(second.token));
  });

  it("is renewed by its owner's heartbeat, which also reads the stop flag", async () => {
    const sessionId = randomUUID();
    const lock = (await acquire(ctx.locks, sessionId, 1_000))!;
    expect(await ctx.locks.heartbeat(lock, 30_000)).toEqual({ held: true, stopRequestedAt: undefined });
    expect(await ctx.redis.pttl(ctx.keys.sessionLock(sessionId))).toBeGreaterThan(1_000);
    await ctx.redis.set(ctx.keys.stop(sessionId), "1700000000123", "EX", 60);
    expect(await ctx.locks.heartbeat(lock)).toEqual({ held: true, stopRequestedAt: 1_700_000_000_123 });
  });

  it("lets exactly one of many racing consumers in", async () => {
    const sessionId = randomUUID();
    const attempts = await Promise.all(Array.from({ length: 20 }, () => ctx.locks.begin(sessionId, randomUUID(), randomUUID())));
    expect(attempts.filter((a) => a.kind === "started")).toHaveLength(1);
  });
});

describe("the fence", () => {
  it("lives as long as previous_response_id, its TTL renewed by each lock taken", async () => {
    const sessionId = randomUUID();
    const first = (await acquire(ctx.locks, sessionId, 50))!;
    const fence = `azuchi:ai-agent:session:{${sessionId}}:fence`;
    expect(await ctx.redis.ttl(fence)).toBeGreaterThan(1_728_000 - 5);
    await ctx.redis.expire(fence, 100);
    await ctx.locks.releaseLock(first);
    await acquire(ctx.locks, sessionId);
    expect(await ctx.redis.ttl(fence)).toBeGreaterThan(1_728_000 - 5);
  });

  it("restarts above every token it issued when it is lost (expired, or Redis replaced by an empty node)", async () => {
    const sessionId = randomUUID();
    const issued: number[] = [];
    for (let i = 0; i < 3; i++) {
      const lock = (await acquire(ctx.locks, sessionId))!;
      issued.push(lock.token);
      await ctx.locks.releaseLock(lock);
    }
    expect(issued[1]).toBe(issued[0]! + 1);
    await ctx.redis.del(ctx.keys.fence(sessionId));
    const after = (await acquire(ctx.locks, sessionId))!;
    expect(after.token).toBeGreaterThan(Math.max(...issued));
    // A token a stale turn still holds can never be issued again, so its fenced write stays refused.
    expect(issued).not.toContain(after.token);
  });
});

describe("beginning a turn", () => {
  /** Begins the job, which must start. */
  async function started(sessionId: string, jobId: string, sqsMessageId: string) {
    const begun = await ctx.locks.begin(sessionId, jobId, sqsMessageId);
    if (begun.kind !== "started") throw new Error(`not started: ${begun.kind}`);
    return begun;
  }

  /** A new job begun, and its turn written to memory (the fenced write marks it written). */
  async function writtenJob() {
    const job = { sessionId: randomUUID(), jobId: randomUUID(), sqsMessageId: randomUUID() };
    const begun = await started(job.sessionId, job.jobId, job.sqsMessageId);
    await new ConversationMemory(ctx.redis, ctx.keys, 10).writeTurn(begun.lock, job.jobId, [], "resp_1");
    return { ...job, begun };
  }

  it("numbers the attempt after the job's counted failures and hands over previous_response_id, in one call", async () => {
    const sessionId = randomUUID();
    const jobId = randomUUID();
    const sqsMessageId = randomUUID();
    await ctx.redis.set(ctx.keys.previousResponseId(sessionId), "resp_prev");
    const first = await ctx.locks.begin(sessionId, jobId, sqsMessageId);
    expect(first).toMatchObject({ kind: "started", attempt: 1, previousResponseId: "resp_prev" });
    if (first.kind === "started") await ctx.locks.releaseLock(first.lock);
    // A start that did not fail (lost its lock, ran out of time) is not an attempt used up.
    const again = await ctx.locks.begin(sessionId, jobId, sqsMessageId);
    expect(again).toMatchObject({ kind: "started", attempt: 1 });
    if (again.kind === "started") await ctx.locks.releaseLock(again.lock);
    expect(await countFailedAttempt(ctx.redis, ctx.keys, sessionId, jobId, sqsMessageId)).toBe(1);
    expect(await ctx.locks.begin(sessionId, jobId, sqsMessageId)).toMatchObject({ kind: "started", attempt: 2 });
  });

  it("does nothing for a job whose turn was written and its events published (the release that says so completes it)", async () => {
    const { sessionId, jobId, sqsMessageId, begun } = await writtenJob();
    expect(begun.written).toBe(false);
    await ctx.locks.releaseLock(begun.lock, jobId);
    expect(await ctx.locks.begin(sessionId, jobId, sqsMessageId)).toEqual({ kind: "duplicate" });
    expect(await ctx.redis.exists(ctx.keys.sessionLock(sessionId))).toBe(0);
    // The job's record keeps the TTL its write gave it.
    expect(await ctx.redis.ttl(ctx.keys.job(sessionId, jobId))).toBeGreaterThan(0);
  });

  it("starts a job whose turn was written but whose delivery ended before its events, saying so, until a release completes it", async () => {
    const { sessionId, jobId, sqsMessageId } = await writtenJob();
    // Killed before its events: its lock expires (deleted here) and its release never runs.
    await ctx.redis.del(ctx.keys.sessionLock(sessionId));
    const again = await started(sessionId, jobId, sqsMessageId);
    expect(again).toMatchObject({ kind: "started", written: true });
    // A release without the events (this one failed before publishing) leaves it written.
    await ctx.locks.releaseLock(again.lock);
    const third = await started(sessionId, jobId, sqsMessageId);
    expect(third).toMatchObject({ kind: "started", written: true });
    // Completed even when the lock is no longer its own: the events went out.
    await ctx.redis.set(ctx.keys.sessionLock(sessionId), "someone else's");
    expect(await ctx.locks.releaseLock(third.lock, jobId)).toBe(false);
    await ctx.redis.del(ctx.keys.sessionLock(sessionId));
    expect(await ctx.locks.begin(sessionId, jobId, sqsMessageId)).toEqual({ kind: "duplicate" });
  });

  it("completes only a written job: a release naming a job never written marks nothing", async () => {
    const sessionId = randomUUID();
    const jobId = randomUUID();
    const begun = await started(sessionId, jobId, randomUUID());
    await ctx.locks.releaseLock(begun.lock, jobId);
    expect(await ctx.redis.exists(ctx.keys.job(sessionId, jobId))).toBe(0);
  });
});

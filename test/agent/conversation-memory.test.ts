import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConversationMemory, type HistoryEntry } from "../../packages/agent/src/conversation-memory.ts";
import { LockLostError } from "../../packages/agent/src/turn-errors.ts";
import { acquire, useTurnRedis } from "../support/turn-redis.ts";

const ctx = useTurnRedis();

function entry(i: number, role: HistoryEntry["role"] = i % 2 ? "AGENT" : "USER"): HistoryEntry {
  return { messageId: randomUUID(), role, message: `message ${i} こんにちは 🎌`, createdAt: 1_700_000_000_000 + i };
}

describe("the conversation memory", () => {
  it("keeps only the newest N entries, newest first in Redis and oldest first when read", async () => {
    const memory = new ConversationMemory(ctx.redis, ctx.keys, 4);
    const sessionId = randomUUID();
    const lock = (await acquire(ctx.locks, sessionId))!;
    const entries = Array.from({ length: 6 }, (_, i) => entry(i));
    await memory.writeTurn(lock, randomUUID(), entries.slice(0, 2), "resp_1");
    await memory.writeTurn(lock, randomUUID(), entries.slice(2, 4), "resp_2");
    await memory.writeTurn(lock, randomUUID(), entries.slice(4, 6), "resp_3");
    expect(await ctx.redis.llen(ctx.keys.history(sessionId))).toBe(4);
    expect(JSON.parse((await ctx.redis.lindex(ctx.keys.history(sessionId), 0))!)).toEqual(entries[5]);
    expect(await memory.history(sessionId)).toEqual(entries.slice(2));
  });

  it("stores previous_response_id with the seed's 20-day TTL", async () => {
    const memory = new ConversationMemory(ctx.redis, ctx.keys, 10);
    const sessionId = randomUUID();
    const lock = (await acquire(ctx.locks, sessionId))!;
    await memory.writeTurn(lock, randomUUID(), [entry(0)], "resp_abc");
    expect(await memory.previousResponseId(sessionId)).toBe("resp_abc");
    const ttl = await ctx.redis.ttl(`azuchi:ai-agent:session:{${sessionId}}:previous_response_id`);
    expect(ttl).toBeGreaterThan(1_728_000 - 5);
    expect(ttl).toBeLessThanOrEqual(1_728_000);
  });

  it("gives the history a sliding TTL as long as previous_response_id's, renewed by every write", async () => {
    const memory = new ConversationMemory(ctx.redis, ctx.keys, 10);
    const sessionId = randomUUID();
    const lock = (await acquire(ctx.locks, sessionId))!;
    await memory.writeTurn(lock, randomUUID(), [entry(0), entry(1)], "resp_1");
    const history = ctx.keys.history(sessionId);
    expect(await ctx.redis.ttl(history)).toBeGreaterThan(1_728_000 - 5);
    await ctx.redis.expire(history, 100);
    await ctx.redis.expire(ctx.keys.fence(sessionId), 100);
    await memory.writeTurn(lock, randomUUID(), [entry(2), entry(3)], null);
    expect(await ctx.redis.ttl(history)).toBeGreaterThan(1_728_000 - 5);
    expect(await ctx.redis.ttl(ctx.keys.fence(sessionId))).toBeGreaterThan(1_728_000 - 5);
  });

  it("spends a pending stop request when it writes the turn: the turn it was meant for has ended", async () => {
    const memory = new ConversationMemory(ctx.redis, ctx.keys, 10);
    const sessionId = randomUUID();
    const lock = (await acquire(ctx.locks, sessionId))!;
    await ctx.redis.set(ctx.keys.stop(sessionId), String(Date.now()), "EX", 60);
    await memory.writeTurn(lock, randomUUID(), [entry(0)], "resp_1");
    expect(await ctx.redis.exists(ctx.keys.stop(sessionId))).toBe(0);
  });

  it("marks the job written in the same write", async () => {
    const memory = new ConversationMemory(ctx.redis, ctx.keys, 10);
    const sessionId = randomUUID();
    const jobId = randomUUID();
    const lock = (await acquire(ctx.locks, sessionId))!;
    expect(await ctx.redis.get(ctx.keys.job(sessionId, jobId))).toBeNull();
    await memory.writeTurn(lock, jobId, [entry(0)], "resp_1");
    expect(await ctx.redis.get(ctx.keys.job(sessionId, jobId))).toBe("written");
  });

  it("writes nothing for a turn whose lock has passed to another", async () => {
    const memory = new ConversationMemory(ctx.redis, ctx.keys, 10);
    const sessionId = randomUUID();
    const jobId = randomUUID();
    const stale = (await acquire(ctx.locks, sessionId, 30))!;
    await new Promise((resolve) => setTimeout(resolve, 60));
    const current = (await acquire(ctx.locks, sessionId))!;
    await expect(memory.writeTurn(stale, jobId, [entry(0)], "resp_stale")).rejects.toBeInstanceOf(LockLostError);
    expect(await ctx.redis.exists(ctx.keys.history(sessionId), ctx.keys.previousResponseId(sessionId), ctx.keys.job(sessionId, jobId))).toBe(0);
    await memory.writeTurn(current, jobId, [entry(0)], "resp_current");
    expect(await memory.previousResponseId(sessionId)).toBe("resp_current");
  });

  it("skips entries it cannot read instead of failing the turn", async () => {
    const memory = new ConversationMemory(ctx.redis, ctx.keys, 10);
    const sessionId = randomUUID();
    const good = entry(1);
    await ctx.redis.lpush(ctx.keys.history(sessionId), JSON.stringify({ nonsense: true }), JSON.stringify(good));
    expect(await memory.history(sessionId)).toEqual([good]);
  });
});

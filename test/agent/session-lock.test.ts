import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionLocks } from "../../packages/agent/src/session-lock.ts";
import { redisKeys } from "../../packages/core/src/redis-keys.ts";
import type { RedisServer } from "../../packages/local/src/redis-server.ts";
import { startTestRedis } from "../support/redis.ts";

let server: RedisServer;
let redis: Redis;
let locks: SessionLocks;
const keys = redisKeys("azuchi");

beforeAll(async () => {
  server = await startTestRedis();
  redis = new Redis(server.url);
  locks = new SessionLocks(redis, keys);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

describe("the session lock", () => {
  it("is taken with SET NX PX under the seed's key, its value a fencing token", async () => {
    const sessionId = randomUUID();
    const lock = await locks.acquire(sessionId);
    expect(lock).toEqual({ sessionId, token: 1 });
    expect(await redis.get(`azuchi:ai-agent:lock:session:${sessionId}`)).toBe("1");
    const ttl = await redis.pttl(`azuchi:ai-agent:lock:session:${sessionId}`);
    expect(ttl).toBeGreaterThan(29_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it("refuses a second holder while the first holds it", async () => {
    const sessionId = randomUUID();
    expect(await locks.acquire(sessionId)).toBeDefined();
    expect(await locks.acquire(sessionId)).toBeUndefined();
  });

  it("does not block other sessions", async () => {
    expect(await locks.acquire(randomUUID())).toBeDefined();
    expect(await locks.acquire(randomUUID())).toBeDefined();
  });

  it("is released only by its owner", async () => {
    const sessionId = randomUUID();
    const mine = (await locks.acquire(sessionId))!;
    expect(await locks.release({ sessionId, token: mine.token + 41 })).toBe(false);
    expect(await locks.acquire(sessionId)).toBeUndefined();
    expect(await locks.release(mine)).toBe(true);
    expect(await locks.acquire(sessionId)).toBeDefined();
  });

  it("is freed by its expiry, and the next holder gets a larger token", async () => {
    const sessionId = randomUUID();
    const first = (await locks.acquire(sessionId, 50))!;
    await new Promise((resolve) => setTimeout(resolve, 80));
    const second = (await locks.acquire(sessionId))!;
    expect(second.token).toBeGreaterThan(first.token);
    // The expired holder can neither release nor renew what is now someone else's.
    expect(await locks.release(first)).toBe(false);
    expect(await locks.renew(first)).toBe(false);
    expect(await redis.get(keys.sessionLock(sessionId))).toBe(String(second.token));
  });

  it("is renewed by its owner only", async () => {
    const sessionId = randomUUID();
    const lock = (await locks.acquire(sessionId, 1_000))!;
    expect(await locks.renew(lock, 30_000)).toBe(true);
    expect(await redis.pttl(keys.sessionLock(sessionId))).toBeGreaterThan(1_000);
  });

  it("lets exactly one of many racing consumers in", async () => {
    const sessionId = randomUUID();
    const attempts = await Promise.all(Array.from({ length: 20 }, () => locks.acquire(sessionId)));
    expect(attempts.filter(Boolean)).toHaveLength(1);
  });
});

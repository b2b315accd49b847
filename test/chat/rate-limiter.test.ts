import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatConfigFromEnv } from "../../packages/chat/src/config.ts";
import { chatRedisKeys, createRedis, RateLimiter, RedisUnavailableError, userLimitsFromEnv, type Redis } from "@azuchi/core";
import type { RedisServer } from "../../packages/local/src/redis-server.ts";
import { freePort } from "../support/ports.ts";
import { startTestRedis } from "../support/redis.ts";

let server: RedisServer;
let redis: Redis;
let n = 0;
const freshKey = () => chatRedisKeys("test").userMessageRate(`user-${++n}`);

beforeAll(async () => {
  server = await startTestRedis();
  redis = createRedis({ host: "127.0.0.1", port: server.port, tls: false });
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the token bucket (a user's messages, a user's new sessions)", () => {
  it("allows the burst, then refuses with the time until the next token, which then comes", async () => {
    const limiter = new RateLimiter(redis, { burst: 3, perSecond: 10 });
    const key = freshKey();
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.consume(key));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions[3]!.retryAfterMs).toBeGreaterThan(50);
    expect(decisions[3]!.retryAfterMs).toBeLessThanOrEqual(100);
    await sleep(decisions[3]!.retryAfterMs + 10);
    expect((await limiter.consume(key)).allowed).toBe(true);
    expect((await limiter.consume(key)).allowed).toBe(false);
  });

  it("never lets more through than the burst when many arrive at once", async () => {
    const limiter = new RateLimiter(redis, { burst: 5, perSecond: 0.001 });
    const key = freshKey();
    const decisions = await Promise.all(Array.from({ length: 40 }, () => limiter.consume(key)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
  });

  it("keeps one bucket per key, and forgets a bucket once it would be full again", async () => {
    const limiter = new RateLimiter(redis, { burst: 2, perSecond: 20 });
    const [a, b] = [freshKey(), freshKey()];
    await limiter.consume(a);
    await limiter.consume(a);
    expect((await limiter.consume(a)).allowed).toBe(false);
    expect((await limiter.consume(b)).allowed).toBe(true);
    const ttl = await redis.pttl(a);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(100 + 1_000);
    expect(a).toMatch(/^test:chat:ratelimit:user:user-\d+:messages$/);
  });

  it("reports a Redis it cannot reach as unavailable (chat then lets the message through)", async () => {
    const unreachable = createRedis({ host: "127.0.0.1", port: await freePort(), tls: false });
    const limiter = new RateLimiter(unreachable, { burst: 1, perSecond: 1 });
    await expect(limiter.consume(freshKey())).rejects.toBeInstanceOf(RedisUnavailableError);
    unreachable.disconnect();
  });
});

describe("the per-user limits and chat's settings", () => {
  it("default to 8,000 characters, a burst of 10 then one message a second, 20 connections and 30 new sessions an hour", () => {
    expect(chatConfigFromEnv({})).toEqual({
      maxMessageChars: 8_000,
      limits: { rateBurst: 10, ratePerSecond: 1, maxConnectionsPerUser: 20, maxNewSessionsPerHour: 30 },
    });
  });

  it("are read from AZUCHI_* variables, and a bad value stops the service from starting", () => {
    const env = {
      AZUCHI_MAX_MESSAGE_CHARS: "2000",
      AZUCHI_RATE_BURST: "5",
      AZUCHI_RATE_PER_SECOND: "0.5",
      AZUCHI_MAX_CONNECTIONS_PER_USER: "3",
      AZUCHI_MAX_NEW_SESSIONS_PER_HOUR: "4",
    };
    expect(chatConfigFromEnv(env)).toEqual({ maxMessageChars: 2_000, limits: { rateBurst: 5, ratePerSecond: 0.5, maxConnectionsPerUser: 3, maxNewSessionsPerHour: 4 } });
    // The HTTP API reads the same variables: one limit for both.
    expect(userLimitsFromEnv(env)).toEqual(chatConfigFromEnv(env).limits);
    expect(() => chatConfigFromEnv({ AZUCHI_MAX_MESSAGE_CHARS: "lots" })).toThrow(/AZUCHI_MAX_MESSAGE_CHARS/);
    expect(() => chatConfigFromEnv({ AZUCHI_RATE_BURST: "2.5" })).toThrow(/AZUCHI_RATE_BURST/);
    expect(() => userLimitsFromEnv({ AZUCHI_MAX_CONNECTIONS_PER_USER: "0" })).toThrow(/AZUCHI_MAX_CONNECTIONS_PER_USER/);
    expect(() => userLimitsFromEnv({ AZUCHI_MAX_NEW_SESSIONS_PER_HOUR: "-1" })).toThrow(/AZUCHI_MAX_NEW_SESSIONS_PER_HOUR/);
  });
});

import { afterAll, describe, expect, it } from "vitest";
import { Cluster } from "ioredis";
import { createRedis, ensureRedisReady, redisEndpoint, RedisUnavailableError, type Redis } from "@azuchi/core";
import { freePort } from "../support/ports.ts";
import { startTestRedis } from "../support/redis.ts";

const clients: Redis[] = [];
afterAll(() => clients.forEach((client) => client.disconnect()));

describe("ensureRedisReady", () => {
  it("leaves no listener behind while Redis stays down, however many commands wait for it", async () => {
    const redis = createRedis({ host: "127.0.0.1", port: await freePort(), tls: false });
    clients.push(redis);
    await redis.connect().catch(() => undefined);
    await expect.poll(() => redis.status).toBe("reconnecting");
    const before = redis.listenerCount("ready");
    const waits = await Promise.allSettled(Array.from({ length: 50 }, () => ensureRedisReady(redis, 20)));
    expect(waits.every((w) => w.status === "rejected" && w.reason instanceof RedisUnavailableError)).toBe(true);
    for (let i = 0; i < 20; i++) await ensureRedisReady(redis, 5).catch(() => undefined);
    // Counted between two of ioredis' own reconnect attempts, as `before` was: an attempt in
    // flight holds a "ready" listener of its own until its socket closes.
    await expect.poll(() => redis.status).toBe("reconnecting");
    expect(redis.listenerCount("ready")).toBe(before);
  });

  it("resolves every waiter once Redis is ready with one shared listener, and keeps none", async () => {
    const server = await startTestRedis();
    try {
      const redis = createRedis({ host: "127.0.0.1", port: server.port, tls: false });
      clients.push(redis);
      const connecting = redis.connect();
      const before = redis.listenerCount("ready");
      const waiters = Array.from({ length: 20 }, () => ensureRedisReady(redis));
      // Waiters share one wait: one listener however many there are (Node warns past 10).
      expect(redis.listenerCount("ready")).toBeLessThanOrEqual(before + 1);
      await Promise.all([connecting, ...waiters]);
      expect(redis.status).toBe("ready");
      expect(redis.listenerCount("ready")).toBeLessThanOrEqual(before);
      expect(await redis.ping()).toBe("PONG");
    } finally {
      await server.stop();
    }
  });
});

describe("the Redis endpoint", () => {
  const link = { host: "memory.example", port: "6379" };

  it("is a cluster only when AZUCHI_REDIS_CLUSTER says so, and then gets ioredis' Cluster client speaking RESP2", () => {
    expect(redisEndpoint(link, {}).cluster).toBe(false);
    const endpoint = redisEndpoint(link, { AZUCHI_REDIS_CLUSTER: "true", AZUCHI_REDIS_TLS: "false" });
    expect(endpoint).toMatchObject({ host: "memory.example", port: 6379, cluster: true, tls: false });
    const client = createRedis(endpoint);
    expect(client).toBeInstanceOf(Cluster);
    expect((client as Cluster).options.redisOptions?.protocol).toBe(2);
    client.disconnect();
    expect((createRedis(redisEndpoint(link, { AZUCHI_REDIS_TLS: "false" })) as Redis).options.protocol).toBe(2);
  });

  it("refuses an AZUCHI_REDIS_CLUSTER it cannot read rather than guess", () => {
    expect(() => redisEndpoint(link, { AZUCHI_REDIS_CLUSTER: "1" })).toThrow(/AZUCHI_REDIS_CLUSTER/);
  });
});

import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelLimiter, modelLimitKeys, modelLimitsFromEnvironment, type ModelLease, type ModelLimits } from "../../packages/agent/src/model-limiter.ts";
import { ModelCallError } from "../../packages/agent/src/turn-errors.ts";
import type { RedisServer } from "../../packages/local/src/redis-server.ts";
import { consumerMaxConcurrency } from "@azuchi/agent/job-timing";
import { startTestRedis } from "../support/redis.ts";

let server: RedisServer;
const clients: Redis[] = [];
beforeAll(async () => {
  server = await startTestRedis();
});
afterAll(async () => {
  clients.forEach((client) => client.disconnect());
  await server?.stop();
});

/** Two consumers: their own Redis connections, the same limit. */
function consumers(limits: ModelLimits) {
  const prefix = `limiter-${randomUUID()}`;
  return [0, 1].map(() => {
    const redis = new Redis(server.url);
    clients.push(redis);
    return new ModelLimiter(redis, limits, modelLimitKeys(prefix));
  });
}

const model = "gpt-test";

describe("the shared model limiter", () => {
  it("holds a burst of calls to the concurrent limit across two consumers, and every call gets through", async () => {
    const limiters = consumers({ maxCalls: 2, tokensPerMinute: 10_000_000, maxWaitMs: 30_000 });
    let inFlight = 0;
    let most = 0;
    let waits = 0;
    const call = async (i: number) => {
      const lease = await limiters[i % 2]!.acquire(model, 100, { onWait: () => void waits++ });
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 100));
      inFlight--;
      await lease.release(100);
    };
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => call(i)));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(most).toBe(2);
    expect(waits).toBeGreaterThanOrEqual(6);
  });

  it("spends no more tokens a minute than allowed: the call past the bucket waits for its refill", async () => {
    // 60,000 a minute is 1 a millisecond; five calls of 10,100 fit, the sixth needs 600 more.
    const limiters = consumers({ maxCalls: 100, tokensPerMinute: 60_000, maxWaitMs: 30_000 });
    const waited: number[] = [];
    const leases = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const lease = await limiters[i % 2]!.acquire(model, 10_100, { onWait: (ms) => void waited.push(ms) });
        return lease;
      }),
    );
    expect(waited).toHaveLength(1);
    expect(waited[0]).toBeGreaterThan(0);
    expect(leases.filter((lease) => lease.waitedMs > 0)).toHaveLength(1);
    await Promise.all(leases.map((lease) => lease.release(10_100)));
  });

  it("believes OpenAI's x-ratelimit headers: none remaining holds the next call back until the bucket refills", async () => {
    const [a, b] = consumers({ maxCalls: 100, tokensPerMinute: 6_000_000, maxWaitMs: 30_000 });
    const first = await a!.acquire(model, 10);
    first.observe(new Headers({ "x-ratelimit-limit-tokens": "60000", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1m0s" }));
    await first.release(10);
    // The bucket is now OpenAI's: 60,000 a minute (1 a ms), 10 back from the settled call, none else.
    let told: number | undefined;
    const second = await b!.acquire(model, 200, { onWait: (ms) => void (told = ms) });
    expect(told).toBeGreaterThan(0);
    expect(second.waitedMs).toBeGreaterThan(0);
    await second.release(200);
  });

  it("gives up a call that would wait longer than allowed as rate-limited, to be retried with the job", async () => {
    const [a, b] = consumers({ maxCalls: 1, tokensPerMinute: 6_000_000, maxWaitMs: 200 });
    const held: ModelLease = await a!.acquire(model, 10);
    const refused = await b!.acquire(model, 10).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ModelCallError);
    expect((refused as ModelCallError).kind).toBe("rate-limited");
    await held.release(10);
    await (await b!.acquire(model, 10)).release(10);
  });

  it("reads its limits from the environment, defaults written once, and refuses nonsense", () => {
    expect(modelLimitsFromEnvironment({})).toEqual({ maxCalls: 200, tokensPerMinute: 2_000_000, maxWaitMs: 30_000 });
    // No more turns run at once than production's consumer cap: a lower default would keep turns waiting inside Lambda.
    expect(modelLimitsFromEnvironment({}).maxCalls).toBe(consumerMaxConcurrency(true));
    expect(modelLimitsFromEnvironment({ AZUCHI_MODEL_MAX_CALLS: "4", AZUCHI_MODEL_TOKENS_PER_MINUTE: "30000" })).toMatchObject({ maxCalls: 4, tokensPerMinute: 30_000 });
    expect(() => modelLimitsFromEnvironment({ AZUCHI_MODEL_MAX_CALLS: "many" })).toThrow(/AZUCHI_MODEL_MAX_CALLS/);
  });
});

import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chatRedisKeys, RateLimiter, requestStop } from "@azuchi/core";
import { crossSlot, recordKeySlots } from "../support/key-slots.ts";
import { useConsumerKit } from "../support/consumer-kit.ts";

const kit = useConsumerKit("key-slots");

// Redis Cluster and ElastiCache Serverless refuse, with CROSSSLOT, a script or transaction
// whose keys hash to different slots. The slots are computed here as the cluster would.
describe("the Redis keys of a turn", () => {
  it("fall in one hash slot per command, over turns that answer, fail and are stopped", async () => {
    const agent = kit.deps({ retryBaseSeconds: 0 });
    const sent = recordKeySlots(agent.redis);
    const sessionId = randomUUID();

    const answered = kit.job(sessionId, "plan my afternoon and tell me the time");
    expect((await kit.consume(agent, [kit.recordOf(answered)])).batchItemFailures).toEqual([]);
    // Delivered again: the completed job is recognised and nothing is posted.
    expect((await kit.consume(agent, [kit.recordOf(answered)])).batchItemFailures).toEqual([]);

    // A failed attempt is counted (INCR + EXPIRE in one MULTI).
    const failing = kit.job(sessionId, "this one fails [[stream-error]]");
    expect((await kit.consume(agent, [kit.recordOf(failing)])).batchItemFailures).toHaveLength(1);

    // A stop pressed before the turn: the turn reads and spends the flag.
    await requestStop(kit.redis, kit.keys, sessionId);
    expect((await kit.consume(agent, [kit.recordOf(kit.job(sessionId, "never mind"))])).batchItemFailures).toEqual([]);

    const scripts = sent.filter((command) => command.name === "evalsha" || command.name === "eval");
    expect(scripts.length).toBeGreaterThanOrEqual(4);
    expect(sent.some((command) => command.name === "incr")).toBe(true);
    expect(crossSlot(sent)).toEqual([]);
    // All of the session's keys share its slot, whatever the command (the model limiter's keys
    // carry the model's tag instead).
    const ofSession = sent.filter((command) => command.keys.some((key) => key.includes(sessionId)));
    expect(new Set(ofSession.flatMap((command) => command.slots)).size).toBe(1);
    expect(sent.some((command) => command.keys.some((key) => key.includes(":model:{")))).toBe(true);
  });

  it("keep chat's stop flag and rate buckets to one slot per command", async () => {
    const sent = recordKeySlots(kit.redis);
    await requestStop(kit.redis, kit.keys, randomUUID());
    await new RateLimiter(kit.redis, { burst: 2, perSecond: 1 }).consume(chatRedisKeys().userMessageRate("someone"));
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(crossSlot(sent)).toEqual([]);
  });
});

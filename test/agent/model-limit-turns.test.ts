import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { modelLimitKeys } from "../../packages/agent/src/model-limiter.ts";
import { useConsumerKit } from "../support/consumer-kit.ts";

const kit = useConsumerKit("model-limit");

describe("turns under the shared model limit", () => {
  it("queue a burst over the limit briefly across two consumers: every turn answered, the wait shown to its user", async () => {
    kit.stack.model!.configure({ firstTokenMs: 200 });
    try {
      const limits = { maxCalls: 1, tokensPerMinute: 2_000_000, maxWaitMs: 30_000 };
      const consumers = [kit.deps({ modelLimits: limits }), kit.deps({ modelLimits: limits })];
      const sessions = Array.from({ length: 4 }, () => randomUUID());
      const records = sessions.map((sessionId) => kit.recordOf(kit.job(sessionId, "hello there")));
      const results = await Promise.all([kit.consume(consumers[0]!, records.slice(0, 2)), kit.consume(consumers[1]!, records.slice(2))]);
      expect(results.flatMap((r) => r.batchItemFailures)).toEqual([]);

      const conversations = await Promise.all(sessions.map((sessionId) => kit.agentMessages(sessionId)));
      for (const messages of conversations) expect(messages.filter((m) => m.messageType === "CONVERSATION")).toHaveLength(1);
      const waited = conversations.filter((messages) => messages.some((m) => m.messageType === "AGENT_LOG" && m.message.includes("waiting about")));
      // One call at a time for four sessions: three of them waited, and were told so.
      expect(waited.length).toBeGreaterThanOrEqual(3);
      // The offline model's x-ratelimit-limit-tokens reached the shared bucket.
      const model = consumers[0]!.settings.model.model;
      expect(await kit.redis.hget(modelLimitKeys().tokens(model), "observed")).toBe("2000000");
    } finally {
      kit.stack.model!.configure({ firstTokenMs: 20 });
    }
  });
});

import { randomUUID } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { describe, expect, it } from "vitest";
import { agentMessageId, type ServerFrame } from "@azuchi/core";
import { modelLimitKeys } from "../../packages/agent/src/model-limiter.ts";
import { messageFrame, where } from "../support/frames.ts";
import { messagesWithFault, useConsumerKit } from "../support/consumer-kit.ts";

// Issue 12: nothing the user does not need before the first token stands in the model request's
// way, and the protocol's order holds all the same (docs/architecture.md §5).
const kit = useConsumerKit("first-token-path");

describe("a turn's way to its first token", () => {
  it("writes the model request to its socket before it starts its first AGENT_LOG, and the AGENT_LOG still reaches the tab before any delta", async () => {
    const tab = await kit.stack.connect("asks-first");
    const sessionId = await kit.stack.sessionOf(tab);
    const job = kit.job(sessionId, "hello there", "asks-first");
    const logId = agentMessageId(job.jobId, "log:received");
    const order: string[] = [];
    // Node's fetch (undici) reports each request whose body it has written to the socket.
    const written = (message: unknown) => void ((message as { request: { path: string } }).request.path.endsWith("/responses") && order.push("model request written"));
    const agent = kit.deps();
    // The AGENT_LOG's write takes 150 ms, the model's first token 20: the deltas must wait for it.
    agent.messages = messagesWithFault(async ({ messageId }) => {
      if (messageId !== logId || order.includes("AGENT_LOG write")) return;
      order.push("AGENT_LOG write");
      await new Promise((resolve) => setTimeout(resolve, 150));
    });
    subscribe("undici:request:bodySent", written);
    try {
      expect((await kit.consume(agent, [kit.recordOf(job)])).batchItemFailures).toEqual([]);
    } finally {
      unsubscribe("undici:request:bodySent", written);
    }
    expect(order).toEqual(["model request written", "AGENT_LOG write"]);

    const reply = agentMessageId(job.jobId, "reply");
    await tab.waitFor(where(messageFrame("CONVERSATION", "AGENT"), (f) => f.message.messageId === reply));
    const turn = tab.frames.filter((f: ServerFrame) => (f.type === "delta" ? f.messageId === reply : f.type === "message" && f.message.jobId === job.jobId));
    expect(turn[0]).toMatchObject({ type: "message", message: { messageId: logId, messageType: "AGENT_LOG" } });
    expect(turn.filter((f) => f.type === "delta").length).toBeGreaterThan(0);
    await tab.close();
  });

  // The first call's share is asked for in the turn's start's round trip, before the turn knows
  // it will run: every share so taken is released, used or not (a lost one would hold a place of
  // AZUCHI_MODEL_MAX_CALLS for two minutes).
  const callsInFlight = (agent: ReturnType<typeof kit.deps>) => kit.redis.zcard(modelLimitKeys().calls(agent.settings.model.model));

  it("releases the model share it took beside its start when the session is busy or the job done", async () => {
    const agent = kit.deps();
    const sessionId = randomUUID();
    const held = await kit.locks.begin(sessionId, "another-job", "another-message");
    expect(held.kind).toBe("started");
    const busy = kit.job(sessionId, "wait for the other turn");
    expect((await kit.consume(agent, [kit.recordOf(busy)])).batchItemFailures).toHaveLength(1);
    expect(await callsInFlight(agent)).toBe(0);

    if (held.kind === "started") await kit.locks.releaseLock(held.lock);
    const answered = kit.job(sessionId, "hello there");
    expect((await kit.consume(agent, [kit.recordOf(answered)])).batchItemFailures).toEqual([]);
    expect(await callsInFlight(agent)).toBe(0);
    // Delivered again: a duplicate, which asks the model nothing.
    expect((await kit.consume(agent, [kit.recordOf(answered, 2)])).batchItemFailures).toEqual([]);
    expect(await callsInFlight(agent)).toBe(0);
  });

  it("asks for a share of its own when the first call, from history, needs more than the share taken ahead, releasing that one first", async () => {
    // One call at a time: a share taken ahead and kept would hold the call's own back.
    const agent = kit.deps({ modelLimits: { maxCalls: 1, tokensPerMinute: 2_000_000, maxWaitMs: 3_000 } });
    const sessionId = randomUUID();
    expect((await kit.consume(agent, [kit.recordOf(kit.job(sessionId, "the first question, long enough to make the history count"))])).batchItemFailures).toEqual([]);
    // No previous_response_id: the next call sends the history, more than the message alone.
    await kit.redis.del(kit.keys.previousResponseId(sessionId));
    expect((await kit.consume(agent, [kit.recordOf(kit.job(sessionId, "and a second one"))])).batchItemFailures).toEqual([]);
    expect(await callsInFlight(agent)).toBe(0);
    const messages = await kit.agentMessages(sessionId);
    expect(messages.filter((m) => m.messageType === "CONVERSATION")).toHaveLength(2);
    expect(messages.filter((m) => m.messageType === "AGENT_LOG").map((m) => m.message)).not.toContainEqual(expect.stringContaining("waiting"));
  });
});

import { describe, expect, it } from "vitest";
import { agentMessageId, type ServerFrame } from "@azuchi/core";
import OpenAI from "openai";
import { messageFrame, where } from "../support/frames.ts";
import { messagesWithFault, useConsumerKit } from "../support/consumer-kit.ts";

// Issue 12: nothing the user does not need before the first token stands in the model request's
// way, and the protocol's order holds all the same (docs/architecture.md §5).
const kit = useConsumerKit("first-token-path");

describe("a turn's way to its first token", () => {
  it("asks the model before it writes its first AGENT_LOG, and the AGENT_LOG still reaches the tab before any delta", async () => {
    const tab = await kit.stack.connect("asks-first");
    const sessionId = await kit.stack.sessionOf(tab);
    const job = kit.job(sessionId, "hello there", "asks-first");
    const logId = agentMessageId(job.jobId, "log:received");
    const order: string[] = [];
    const agent = kit.deps();
    const { apiKey, baseURL } = agent.settings.openai;
    agent.openai = new OpenAI({ apiKey, baseURL, fetch: (url, init) => (order.push("model request"), fetch(url, init)) });
    // The AGENT_LOG's write takes 150 ms, the model's first token 20: the deltas must wait for it.
    agent.messages = messagesWithFault(async ({ messageId }) => {
      if (messageId !== logId || order.includes("AGENT_LOG write")) return;
      order.push("AGENT_LOG write");
      await new Promise((resolve) => setTimeout(resolve, 150));
    });
    expect((await kit.consume(agent, [kit.recordOf(job)])).batchItemFailures).toEqual([]);
    expect(order).toEqual(["model request", "AGENT_LOG write"]);

    const reply = agentMessageId(job.jobId, "reply");
    await tab.waitFor(where(messageFrame("CONVERSATION", "AGENT"), (f) => f.message.messageId === reply));
    const turn = tab.frames.filter((f: ServerFrame) => (f.type === "delta" ? f.messageId === reply : f.type === "message" && f.message.jobId === job.jobId));
    expect(turn[0]).toMatchObject({ type: "message", message: { messageId: logId, messageType: "AGENT_LOG" } });
    expect(turn.filter((f) => f.type === "delta").length).toBeGreaterThan(0);
    await tab.close();
  });
});

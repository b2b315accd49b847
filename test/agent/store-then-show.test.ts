import { describe, expect, it } from "vitest";
import { agentMessageId, type Message, type ServerFrame } from "@azuchi/core";
import { messageFrame, messagesIn, where } from "../support/frames.ts";
import { messagesWithFault, useConsumerKit } from "../support/consumer-kit.ts";

// A message is stored before any frame shows it (docs/architecture.md §1): these tests would catch
// an agent that posted first.
const kit = useConsumerKit("store-then-show");

describe("a message the agent shows", () => {
  it("never reaches any tab when its store fails", async () => {
    const tab = await kit.stack.connect("unstored");
    const sessionId = await kit.stack.sessionOf(tab);
    const other = await kit.stack.connect("unstored", sessionId);
    const job = kit.job(sessionId, "my reply cannot be stored", "unstored");
    const replyId = agentMessageId(job.jobId, "reply");
    const agent = kit.deps();
    agent.messages = messagesWithFault(async ({ messageId }) => {
      if (messageId === replyId) throw new Error("DynamoDB is down for this write");
    });
    expect((await kit.consume(agent, [kit.recordOf(job)])).batchItemFailures).toHaveLength(1);
    // The retry notice comes after the reply would have: once a tab has it, it has all before it.
    for (const client of [tab, other]) {
      await client.waitFor(where(messageFrame("SYSTEM_LOG", "SYSTEM"), (f) => f.message.jobId === job.jobId));
      expect(messagesIn(client.frames).filter((m) => m.messageId === replyId)).toEqual([]);
      expect(messagesIn(client.frames).filter((m) => m.jobId === job.jobId).map((m) => m.messageType)).toEqual(["AGENT_LOG", "SYSTEM_LOG"]);
    }
    expect(await kit.messages.findById(replyId)).toBeUndefined();
    await Promise.all([tab.close(), other.close()]);
  });

  it("is readable from the messages table when its frame arrives, even with DynamoDB slow to store it", async () => {
    const tab = await kit.stack.connect("reader");
    const sessionId = await kit.stack.sessionOf(tab);
    // Every read a tab could make at the moment a message frame arrives.
    const checks: Promise<{ shown: Message; stored: Message | undefined }>[] = [];
    tab.socket.on("message", (data) => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      if (frame.type === "message") checks.push(kit.messages.findById(frame.message.messageId).then((stored) => ({ shown: frame.message, stored })));
    });
    // Each write takes 150 ms to reach DynamoDB: an agent that sent first would be caught out.
    const agent = kit.deps();
    agent.messages = messagesWithFault(() => new Promise((resolve) => setTimeout(resolve, 150)));
    const job = kit.job(sessionId, "plan my afternoon and tell me the time", "reader");
    expect((await kit.consume(agent, [kit.recordOf(job)])).batchItemFailures).toEqual([]);
    await tab.waitFor(where(messageFrame("CONVERSATION", "AGENT"), (f) => f.message.jobId === job.jobId));
    const results = await Promise.all(checks);
    expect(results.map((r) => r.shown.messageType)).toEqual(["AGENT_LOG", "PLAN", "PLAN", "AGENT_LOG", "AGENT_LOG", "PLAN", "CONVERSATION"]);
    for (const { shown, stored } of results) expect(stored).toEqual(shown);
    await tab.close();
  });
});

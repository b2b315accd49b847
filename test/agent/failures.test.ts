import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentJob } from "@azuchi/core";
import { messageFrame, messagesIn, where } from "../support/frames.ts";
import { stackSqs, startTestStack, type TestStack } from "../support/stack.ts";

let stack: TestStack;

beforeAll(async () => {
  // Quick retries (1 s, then 4 s) and no retries inside the OpenAI client, so three attempts take seconds.
  stack = await startTestStack({ environment: { AZUCHI_RETRY_BASE_SECONDS: "1", AZUCHI_OPENAI_MAX_RETRIES: "0" } });
});
afterAll(() => stack?.stop());

describe("when the model fails", () => {
  it("tells the user on every attempt, in their language, and gives the job up to the DLQ after the last", async () => {
    const set = await fetch(`${stack.url}/dev/model`, { method: "POST", body: JSON.stringify({ mode: "fail" }) });
    expect(await set.json()).toMatchObject({ mode: "fail" });
    try {
      const tab = await stack.connect("unlucky");
      const sessionId = await stack.sessionOf(tab);
      tab.send({ action: "putMessage", message: "今日は何をしようか" });
      const gaveUp = await tab.waitFor(where(messageFrame("SYSTEM_LOG", "SYSTEM"), (f) => f.message.message.includes("運用担当者")), 30_000);
      const notices = messagesIn(tab.frames).filter((m) => m.messageType === "SYSTEM_LOG").map((m) => m.message);
      expect(notices).toEqual([
        "エージェントが応答できませんでした（1 回目）。まもなく再試行します…",
        "エージェントが応答できませんでした（2 回目）。まもなく再試行します…",
        gaveUp.message.message,
      ]);
      expect(messagesIn(tab.frames).some((m) => m.messageType === "CONVERSATION" && m.role === "AGENT")).toBe(false);

      const sqs = stackSqs(stack);
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.queues.dlq, MessageAttributeNames: ["All"], WaitTimeSeconds: 2 }));
      expect(Messages).toHaveLength(1);
      const dead = JSON.parse(Messages[0]!.Body!) as AgentJob;
      expect(dead).toMatchObject({ sessionId, message: "今日は何をしようか" });
      expect(Messages[0]!.MessageAttributes?.reason?.StringValue).toMatch(/InternalServerError|500/);
      expect(Messages[0]!.MessageAttributes?.attempts?.StringValue).toBe("3");

      const failures = stack.recentEvents().filter((e) => e["detail-type"] === "AgentRunFailed" && (e.detail as { sessionId: string }).sessionId === sessionId);
      expect(failures.map((e) => (e.detail as { attempt: number; final: boolean }).final)).toEqual([false, false, true]);
      await tab.close();
    } finally {
      await fetch(`${stack.url}/dev/model`, { method: "POST", body: JSON.stringify({ mode: "ok" }) });
    }
  });

  it("answers normally again once the model recovers", async () => {
    const tab = await stack.connect("lucky");
    await stack.sessionOf(tab);
    tab.send({ action: "putMessage", message: "back to normal?" });
    const reply = await tab.waitFor(messageFrame("CONVERSATION", "AGENT"));
    expect(reply.message.message).toContain("back to normal?");
    await tab.close();
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerFrame } from "@azuchi/core";
import type { Scenario } from "../../packages/local/src/offline-model/scenarios.ts";
import { messageFrame, messagesIn, where } from "../support/frames.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";

// The same cases as openai-wire.test.ts, from the offline model `npm start` runs: what a
// developer sees locally is what a user sees with OpenAI.

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ environment: { AZUCHI_RETRY_BASE_SECONDS: "1", AZUCHI_OPENAI_MAX_RETRIES: "0" } });
});
afterAll(() => stack?.stop());

const isReply = messageFrame("CONVERSATION", "AGENT");
const isFinalNotice = where(messageFrame("SYSTEM_LOG", "SYSTEM"), (f) => (f.message.payload as { final?: boolean } | undefined)?.final === true);
const isReplyOrGiveUp = (f: ServerFrame): f is Extract<ServerFrame, { type: "message" }> => isReply(f) || isFinalNotice(f);

async function askWith(user: string, message: string, scenario: Scenario, faultRequests: number | null = null) {
  stack.model!.configure({ scenario, faultRequests });
  const tab = await stack.connect(user);
  await stack.sessionOf(tab);
  tab.send({ action: "putMessage", message });
  return tab;
}

describe("the offline model's scenarios, answered as OpenAI's are", () => {
  it("refusal: the refusal is the reply, marked", async () => {
    const tab = await askWith("o-refusal", "something I should not ask", "refusal", 1);
    const reply = await tab.waitFor(isReply);
    expect(reply.message.payload).toEqual({ refusal: true });
    expect(reply.message.message.length).toBeGreaterThan(0);
    await tab.close();
  });

  it("incomplete-mid-function-call: cut off, the call never run; the next message is answered", async () => {
    const tab = await askWith("o-cutcall", "make a plan for my day", "incomplete-mid-function-call", 1);
    const reply = await tab.waitFor(isReply);
    expect(reply.message.payload).toEqual({ incomplete: "max_output_tokens" });
    expect(messagesIn(tab.frames).some((m) => m.messageType === "PLAN")).toBe(false);
    // The cut response holds a call no output answers: chained on, the model would refuse every
    // later message ("No tool output found for function call …").
    stack.model!.configure({ scenario: null });
    const start = tab.frames.length;
    tab.send({ action: "putMessage", message: "then just say hello" });
    const next = await tab.waitFor(where(isReplyOrGiveUp, (f) => tab.frames.indexOf(f) >= start), 20_000);
    expect(next.message.messageType).toBe("CONVERSATION");
    expect(next.message.message).toContain("then just say hello");
    expect(messagesIn(tab.frames).filter((m) => m.messageType === "SYSTEM_LOG")).toEqual([]);
    await tab.close();
  });

  it("preamble: the commentary in the activity, the final answer alone in the reply", async () => {
    const tab = await askWith("o-preamble", "what time is it?", "preamble", 2);
    const reply = await tab.waitFor(isReply);
    const notes = messagesIn(tab.frames).filter((m) => m.messageType === "AGENT_LOG" && (m.payload as { note?: string } | undefined)?.note === "commentary");
    expect(notes).toHaveLength(1);
    expect(reply.message.message).not.toContain(notes[0]!.message);
    await tab.close();
  });

  it("unknown-tool-call: shown in the activity, then answered", async () => {
    const tab = await askWith("o-unknown", "search the web for me", "unknown-tool-call", 2);
    await tab.waitFor(isReply);
    expect(messagesIn(tab.frames).some((m) => m.messageType === "AGENT_LOG" && m.message.includes("search_web"))).toBe(true);
    await tab.close();
  });

  it("insufficient-quota: given up at once, the user told why", async () => {
    const tab = await askWith("o-quota", "hello", "insufficient-quota");
    const told = await tab.waitFor(isFinalNotice, 20_000);
    expect(told.message.payload).toMatchObject({ failure: "quota" });
    expect(messagesIn(tab.frames).filter((m) => m.messageType === "SYSTEM_LOG")).toHaveLength(1);
    stack.model!.configure({ scenario: null });
    await tab.close();
  });

  it("context-length-exceeded once on a chained session: rebuilt and answered without a notice", async () => {
    stack.model!.configure({ scenario: null });
    const tab = await stack.connect("o-context");
    await stack.sessionOf(tab);
    tab.send({ action: "putMessage", message: "first" });
    await tab.waitFor(isReply);
    stack.model!.configure({ scenario: "context-length-exceeded", faultRequests: 1 });
    const start = tab.frames.length;
    tab.send({ action: "putMessage", message: "second" });
    const reply = await tab.waitFor(where(isReply, (f) => tab.frames.indexOf(f) >= start));
    expect(reply.message.message).toContain("second");
    expect(messagesIn(tab.frames).filter((m) => m.messageType === "SYSTEM_LOG")).toEqual([]);
    await tab.close();
  });

  it("stream-error once: retried, then answered", async () => {
    const tab = await askWith("o-streamerr", "tell me something", "stream-error", 1);
    const reply = await tab.waitFor(isReply, 20_000);
    expect(reply.message.message).toContain("tell me something");
    expect(messagesIn(tab.frames).filter((m) => m.messageType === "SYSTEM_LOG")).toHaveLength(1);
    await tab.close();
  });
});

import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerFrame } from "@azuchi/core";
import { messageFrame, messagesIn, where } from "../support/frames.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";

let stack: TestStack;

beforeAll(async () => {
  // Quick retries (1 s, then 4 s) and none inside the OpenAI client, so a give-up takes seconds.
  stack = await startTestStack({ environment: { AZUCHI_RETRY_BASE_SECONDS: "1", AZUCHI_OPENAI_MAX_RETRIES: "0" } });
});
afterAll(() => stack?.stop());

const setModel = (settings: Record<string, unknown>) => fetch(`${stack.url}/dev/model`, { method: "POST", body: JSON.stringify(settings) });
const finalNotice = where(messageFrame("SYSTEM_LOG", "SYSTEM"), (f) => (f.message.payload as { final?: boolean } | undefined)?.final === true);
const isError = (frame: ServerFrame): frame is Extract<ServerFrame, { type: "error" }> => frame.type === "error";

describe("retryMessage", () => {
  it("queues a given-up message again with its attempts afresh, and its answer comes under the same job", async () => {
    await setModel({ mode: "fail" });
    try {
      const tab = await stack.connect("retrier");
      await stack.sessionOf(tab);
      tab.send({ action: "putMessage", message: "answer me eventually", clientMessageId: randomUUID() });
      const gaveUp = await tab.waitFor(finalNotice, 30_000);
      const messageId = gaveUp.message.jobId!;

      // The retry's first attempt fails too: it is attempt 1 again, not a fourth.
      await setModel({ mode: "fail", faultRequests: 1 });
      const retryId = randomUUID();
      const from = tab.frames.length;
      tab.send({ action: "retryMessage", messageId, retryId });
      const ack = await tab.waitFor((f) => f.type === "ack" && f.clientMessageId === retryId);
      expect(ack).toMatchObject({ messageId });
      const reply = await tab.waitFor(where(messageFrame("CONVERSATION", "AGENT"), (f) => f.message.jobId === messageId), 20_000);
      expect(reply.message.message).toContain("answer me eventually");
      const notices = messagesIn(tab.frames, from).filter((m) => m.messageType === "SYSTEM_LOG");
      expect(notices.map((m) => (m.payload as { attempt: number }).attempt)).toEqual([1]);
      expect(notices[0]!.messageId).not.toBe(gaveUp.message.messageId);
      await tab.close();
    } finally {
      await setModel({ mode: "ok", faultRequests: null });
    }
  });

  it("refuses a message of another chat, another user's or one that is not a USER message, and queues nothing", async () => {
    const owner = await stack.connect("owner");
    await stack.sessionOf(owner);
    owner.send({ action: "putMessage", message: "mine", clientMessageId: randomUUID() });
    const reply = await owner.waitFor(messageFrame("CONVERSATION", "AGENT"));
    const messageId = reply.message.jobId!;

    const stranger = await stack.connect("stranger");
    await stack.sessionOf(stranger);
    stranger.send({ action: "retryMessage", messageId, retryId: randomUUID() });
    await expect(stranger.waitFor(isError)).resolves.toMatchObject({ code: "NOT_FOUND", messageId });

    // The same user in another chat cannot retry it from there either.
    const otherChat = await stack.connect("owner");
    await stack.sessionOf(otherChat);
    otherChat.send({ action: "retryMessage", messageId, retryId: randomUUID() });
    await expect(otherChat.waitFor(isError)).resolves.toMatchObject({ code: "NOT_FOUND" });

    owner.send({ action: "retryMessage", messageId: reply.message.messageId, retryId: randomUUID() });
    await expect(owner.waitFor(isError)).resolves.toMatchObject({ code: "NOT_FOUND" });
    owner.send({ action: "retryMessage", messageId: "not-a-uuid", retryId: randomUUID() });
    await expect(owner.waitFor((f) => f.type === "error" && f.code === "BAD_REQUEST")).resolves.toBeDefined();
    await Promise.all([owner.close(), stranger.close(), otherChat.close()]);
  });

  it("posts nothing new when the message was already answered (the job is complete)", async () => {
    const tab = await stack.connect("twice");
    await stack.sessionOf(tab);
    tab.send({ action: "putMessage", message: "once is enough", clientMessageId: randomUUID() });
    const reply = await tab.waitFor(messageFrame("CONVERSATION", "AGENT"));
    const retryId = randomUUID();
    tab.send({ action: "retryMessage", messageId: reply.message.jobId!, retryId });
    await tab.waitFor((f) => f.type === "ack" && f.clientMessageId === retryId);
    // A message sent after the retry is answered after it (same group): by then the retry was a duplicate.
    tab.send({ action: "putMessage", message: "next", clientMessageId: randomUUID() });
    await tab.waitFor(where(messageFrame("CONVERSATION", "AGENT"), (f) => f.message.message.includes("next")));
    const replies = messagesIn(tab.frames).filter((m) => m.role === "AGENT" && m.messageType === "CONVERSATION" && m.jobId === reply.message.jobId);
    expect(new Set(replies.map((m) => m.messageId)).size).toBe(1);
    await tab.close();
  });

  it("regenerateReply: another answer under the same question as a new job, the first answer kept", async () => {
    const tab = await stack.connect("again");
    const sessionId = await stack.sessionOf(tab);
    tab.send({ action: "putMessage", message: "say it twice", clientMessageId: randomUUID() });
    const first = await tab.waitFor(messageFrame("CONVERSATION", "AGENT"));
    const messageId = first.message.jobId!;
    const regenerateId = randomUUID();
    tab.send({ action: "regenerateReply", messageId, regenerateId });
    await tab.waitFor((f) => f.type === "ack" && f.clientMessageId === regenerateId);
    const second = await tab.waitFor(where(messageFrame("CONVERSATION", "AGENT"), (f) => f.message.jobId === `${messageId}:${regenerateId}`), 10_000);
    expect(second.message.messageId).not.toBe(first.message.messageId);
    expect(second.message.message).toContain("say it twice");
    tab.send({ action: "getSession" });
    const session = await tab.waitFor((f) => f.type === "session" && f.messages.length >= 2 && f.messages.some((m) => m.messageId === second.message.messageId));
    if (session.type !== "session") throw new Error("unreachable");
    expect(session.session.sessionId).toBe(sessionId);
    expect(session.messages.filter((m) => m.role === "AGENT" && m.messageType === "CONVERSATION").map((m) => m.messageId)).toEqual([first.message.messageId, second.message.messageId]);
    await tab.close();
  });
});

import { randomUUID } from "node:crypto";
import { GetQueueAttributesCommand, SetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorFrame, Message, ServerFrame } from "@azuchi/core";
import { exchange, isAgentReply } from "../support/chat.ts";
import { stackSqs, startTestStack, type TestStack } from "../support/stack.ts";
import type { TestClient } from "../support/ws-client.ts";

// Nothing lost: a USER message is stored, then queued, then acked. When queueing fails the
// client gets no ack but an error naming the message, the message stays (without enqueuedAt),
// and sending it again with the same clientMessageId queues it: never an acked message
// without a job, never a message that silently has no reply.

let stack: TestStack;
let sqs: SQSClient;

beforeAll(async () => {
  stack = await startTestStack({ model: { firstTokenMs: 0, tokenMs: 0 } });
  sqs = stackSqs(stack);
});
afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
});

/** Makes SQS refuse every job over 1 KB (a real SQS refusal: InvalidParameterValue) until the returned function restores it. */
async function queueRefusingBigJobs(): Promise<() => Promise<void>> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.queues.jobs, AttributeNames: ["MaximumMessageSize"] }));
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl: stack.queues.jobs, Attributes: { MaximumMessageSize: "1024" } }));
  return async () => {
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: stack.queues.jobs, Attributes: { MaximumMessageSize: Attributes!.MaximumMessageSize! } }));
  };
}

async function storedMessages(tab: TestClient): Promise<Message[]> {
  const frame = await exchange(tab, { action: "getSession" }, (f) => f.type === "session");
  return frame.type === "session" ? frame.messages : [];
}

describe("when the job cannot be queued", () => {
  it("sends no ack and shows nothing, says which message failed; a retry with the same clientMessageId queues it, once", async () => {
    const tab = await stack.connect("rupert");
    const sessionId = await stack.sessionOf(tab);
    const other = await stack.connect("rupert", sessionId);
    const clientMessageId = randomUUID();
    const text = `A long question. ${"まだ続きます。".repeat(200)}`;
    const restore = await queueRefusingBigJobs();

    const start = tab.frames.length;
    const otherStart = other.frames.length;
    tab.send({ action: "putMessage", message: text, clientMessageId });
    const error = (await tab.waitFor((f) => tab.frames.indexOf(f) >= start && f.type === "error")) as ErrorFrame;
    const [unqueued] = await storedMessages(tab);
    expect(unqueued).toMatchObject({ message: text, role: "USER" });
    expect(unqueued!.enqueuedAt).toBeUndefined();
    expect(error).toMatchObject({ code: "INTERNAL", clientMessageId, messageId: unqueued!.messageId });
    // No ack (the client would take it as queued), and no tab is shown a message that has no job.
    // Stored and counted, the chat is one listSessions shows: every tab of the user is told it
    // began, untitled, as when its first message is queued.
    const begun = { type: "sessionUpdated", session: { sessionId, title: "", updatedAt: unqueued!.createdAt } };
    expect(tab.frames.slice(start)).toEqual([begun, error, expect.objectContaining({ type: "session" })]);
    await other.waitFor((f) => f.type === "sessionUpdated");
    expect(other.frames.slice(otherStart)).toEqual([begun]);

    // Still failing: the same error, still one message.
    expect(await exchange(tab, { action: "putMessage", message: text, clientMessageId }, (f) => f.type === "error")).toMatchObject({ code: "INTERNAL" });
    expect(await storedMessages(tab)).toHaveLength(1);

    await restore();
    const retryStart = tab.frames.length;
    const ack = await exchange(tab, { action: "putMessage", message: text, clientMessageId }, (f) => f.type === "ack");
    expect(ack).toMatchObject({ type: "ack", clientMessageId, messageId: unqueued!.messageId, createdAt: unqueued!.createdAt, message: { messageId: unqueued!.messageId, message: text } });
    // The sender has it from the ack; the other tab is shown it now that it has its job.
    await other.waitFor((f: ServerFrame) => f.type === "message" && f.message.messageId === unqueued!.messageId);
    await tab.waitFor((f: ServerFrame) => isAgentReply(f) && f.type === "message" && f.message.jobId === unqueued!.messageId);
    expect(tab.frames.slice(retryStart).some((f) => f.type === "error")).toBe(false);

    const [completed, ...rest] = await storedMessages(tab);
    expect(completed).toMatchObject({ messageId: unqueued!.messageId, createdAt: unqueued!.createdAt });
    expect(completed!.enqueuedAt).toBeGreaterThan(completed!.createdAt);
    expect(rest.filter((m) => m.role === "USER")).toEqual([]);
    // One job: had the message been queued twice, a second turn would have completed by now.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const turns = stack.recentEvents().filter((e) => e["detail-type"] === "AgentRunCompleted" && (e.detail as { jobId: string }).jobId === unqueued!.messageId);
    expect(turns).toHaveLength(1);
    // Announced once, by the attempt that queued it.
    const posted = stack.recentEvents().filter((e) => e["detail-type"] === "MessagePosted" && (e.detail as { messageId: string }).messageId === unqueued!.messageId);
    expect(posted).toHaveLength(1);
    await Promise.all([tab.close(), other.close()]);
  });
});

import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { Message } from "./message.ts";
import { RedisUnavailableError } from "./redis-client.ts";
import { jobOf, type SubmitLog, type SubmitUserMessageDeps } from "./submit-user-message.ts";

export interface RetryInput {
  sessionId: string;
  userId: string;
  connectionId: string;
  messageId: string;
  retryId: string;
  timeZone?: string;
  locale?: string;
}

export type RetryResult =
  /** A new job for the message is on the queue. */
  | { status: "requeued"; message: Message }
  /** No USER message with that id in this session (or not this user's): nothing queued. */
  | { status: "not_found" }
  | { status: "rate_limited"; retryAfterMs: number };

/**
 * Queues a stored USER message again, for the Retry of a message the agent gave up on. The
 * job is the message's own (jobId = messageId), so its replies land under it and a job already
 * answered posts nothing again; it goes as a new SQS message (deduplicated on the retryId, not
 * the jobId), so the agent counts its attempts afresh. It costs a model call, so it spends the
 * user's message rate like a new message.
 */
export async function retryUserMessage(deps: RequeueDeps, input: RetryInput, log: SubmitLog): Promise<RetryResult> {
  return requeueUserMessage(deps, input, { jobId: input.messageId, deduplicationId: `retry-${input.retryId}` }, log);
}

/**
 * Another answer to a stored USER message (regenerateReply): a new job `<messageId>:<regenerateId>`
 * whose messages are new ones, so the answers before it stay as they are (previous versions).
 * The agent's memory gets the question again with the new answer.
 */
export async function regenerateReply(deps: RequeueDeps, input: Omit<RetryInput, "retryId"> & { regenerateId: string }, log: SubmitLog): Promise<RetryResult> {
  const jobId = `${input.messageId}:${input.regenerateId}`;
  return requeueUserMessage(deps, input, { jobId, deduplicationId: `regenerate-${input.regenerateId}` }, log);
}

type RequeueDeps = Pick<SubmitUserMessageDeps, "messages" | "sqs" | "queueUrl" | "messageRate" | "chatKeys">;

async function requeueUserMessage(deps: RequeueDeps, input: Omit<RetryInput, "retryId">, queued: { jobId: string; deduplicationId: string }, log: SubmitLog): Promise<RetryResult> {
  const stored = await deps.messages.findById(input.messageId);
  // The connection's session was checked to be the user's at $connect: a message of it is theirs.
  if (!stored || stored.sessionId !== input.sessionId || stored.role !== "USER") return { status: "not_found" };
  try {
    const decision = await deps.messageRate.consume(deps.chatKeys.userMessageRate(input.userId));
    if (!decision.allowed) return { status: "rate_limited", retryAfterMs: decision.retryAfterMs };
  } catch (error) {
    if (!(error instanceof RedisUnavailableError)) throw error;
    log.error("rate limit not checked: Redis is unavailable", { error });
  }
  const job = jobOf(stored, { ...input, source: "websocket" }, queued.jobId);
  await deps.sqs.send(
    new SendMessageCommand({
      QueueUrl: deps.queueUrl,
      MessageBody: JSON.stringify(job),
      MessageGroupId: job.sessionId,
      MessageDeduplicationId: queued.deduplicationId,
    }),
  );
  log.info("message queued again", { jobId: job.jobId, deduplicationId: queued.deduplicationId });
  return { status: "requeued", message: stored };
}

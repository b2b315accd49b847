import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { messagePosted, type EventPublisher } from "./event-publisher.ts";
import type { AgentJob } from "./job.ts";
import type { MessagesRepository, PutOptions } from "./messages-repository.ts";
import type { Message } from "./message.ts";
import type { Notifier } from "./notifier.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import type { ChatRedisKeys } from "./redis-keys.ts";
import { RedisUnavailableError } from "./redis-client.ts";
import { userMessageId } from "./ids.ts";

export interface SubmitUserMessageDeps {
  messages: MessagesRepository;
  sqs: SQSClient;
  queueUrl: string;
  /** Shows the queued message to every tab of the session. */
  notifier: Notifier;
  /** MessagePosted, for observers. */
  events: EventPublisher;
  /** The per-user message bucket (userMessageRate), shared by every socket and the HTTP API. */
  messageRate: RateLimiter;
  chatKeys: Pick<ChatRedisKeys, "userMessageRate">;
}

export interface UserMessageInput {
  sessionId: string;
  userId: string;
  text: string;
  source: AgentJob["source"];
  connectionId?: string;
  clientMessageId?: string;
  now?: number;
  /** The user's time zone and locale, passed on to the agent in the job. */
  timeZone?: string;
  locale?: string;
}

/** The structured logger of the calling handler (Powertools' Logger fits). */
export interface SubmitLog {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

export interface SubmitHooks {
  /**
   * Runs once the job is on the queue, before the tabs are shown the message: putMessage's
   * ack to the sender. Its failure is logged; the message is queued all the same.
   */
  acknowledge?: (message: Message) => Promise<unknown>;
  log: SubmitLog;
}

export type SubmitResult =
  /**
   * Stored and queued: ack it (the 202 of the HTTP API). `firstMessage`: the session's first
   * stored message, so the session has just begun to exist for listSessions (the user's other
   * tabs can be told).
   */
  | { status: "enqueued"; message: Message; created: boolean; firstMessage: boolean }
  /** Stored, but its job is not on the queue: NOT acked; a retry with the same clientMessageId queues it. */
  | { status: "stored"; message: Message; created: boolean; cause: unknown }
  /** Over the user's message rate: nothing stored. */
  | { status: "rate_limited"; retryAfterMs: number };

/**
 * The one path of a USER message, for putMessage and generateChatReply alike: the user's rate
 * limit, store, enqueue, then ack and show it to every tab. The ack comes only after the job
 * is queued: a client that waits for each ack before sending the next (API Gateway promises
 * no order between a connection's frames) then has its messages queued, and answered, in the
 * order it sent them, and an acked message always has its job. Stored before queued: a job
 * never exists for a message a reload would not show.
 */
export async function submitUserMessage(deps: SubmitUserMessageDeps, input: UserMessageInput, hooks: SubmitHooks): Promise<SubmitResult> {
  const { log } = hooks;
  const rate = await checkMessageRate(deps, input.userId, log);
  if (rate) return rate;

  const { message: stored, created } = await storeUserMessage(deps, input, { touch: false });
  log.info(created ? "message stored" : "message replayed", { messageId: stored.messageId, createdAt: stored.createdAt });
  // The session's summary (updatedAt, messageCount) is updated beside the enqueue, not before
  // it: the job, and so the model's request, need not wait for it (the ack does).
  // Its write tells, with no read, whether this is the session's first message.
  const touched = created
    ? deps.messages.touchSession(stored.sessionId, stored.createdAt, 1).catch((error: unknown) => (log.warn("the session's summary was not updated", { sessionId: stored.sessionId, error }), false))
    : Promise.resolve(false);
  const wasQueued = stored.enqueuedAt !== undefined;
  let message: Message;
  try {
    message = await enqueueUserMessage(deps, stored, input, log);
  } catch (error) {
    if (!(error instanceof EnqueueFailedError)) throw error;
    log.error("enqueue failed", { jobId: stored.messageId, error: error.cause });
    await touched;
    return { status: "stored", message: stored, created, cause: error.cause };
  }

  // What follows shows what is stored and queued; a failure is logged, never undoes the job.
  // The ack waits for the summary: an acked message's session is in listSessions.
  const firstMessage = await touched;
  if (hooks.acknowledge) {
    await hooks.acknowledge(message).catch((error: unknown) => log.warn("the ack did not reach the sender", { messageId: message.messageId, error }));
  }
  try {
    const fanout = await deps.notifier.postToSession(message.sessionId, { type: "message", message });
    for (const { connectionId, error } of fanout.failed) log.warn("a tab missed the message", { tab: connectionId, error });
  } catch (error) {
    log.warn("the message was not shown to the tabs", { messageId: message.messageId, error });
  }
  // Published by the call that queued it, so a message stored by one attempt and queued by the retry is announced once.
  if (!wasQueued) await deps.events.publish([messagePosted(message)]).catch((error: unknown) => log.warn("MessagePosted not published", { error }));
  return { status: "enqueued", message, created, firstMessage };
}

/** Without Redis the message still goes through: a limit must not take chat down. */
async function checkMessageRate(deps: SubmitUserMessageDeps, userId: string, log: SubmitLog): Promise<SubmitResult | undefined> {
  try {
    const decision = await deps.messageRate.consume(deps.chatKeys.userMessageRate(userId));
    return decision.allowed ? undefined : { status: "rate_limited", retryAfterMs: decision.retryAfterMs };
  } catch (error) {
    if (!(error instanceof RedisUnavailableError)) throw error;
    log.error("rate limit not checked: Redis is unavailable", { error });
    return undefined;
  }
}

export class EnqueueFailedError extends Error {
  readonly stored: Message;
  constructor(stored: Message, cause: unknown) {
    super(`message ${stored.messageId} was stored but its job could not be queued`, { cause });
    this.name = "EnqueueFailedError";
    this.stored = stored;
  }
}

/**
 * Stores a USER message (or finds it again: a client retry, same clientMessageId, is the same
 * messageId and so the same message).
 */
export async function storeUserMessage(deps: Pick<SubmitUserMessageDeps, "messages">, input: UserMessageInput, options: Pick<PutOptions, "touch"> = {}) {
  return deps.messages.put({
    sessionId: input.sessionId,
    messageId: userMessageId(input.sessionId, input.clientMessageId),
    createdAt: input.now ?? Date.now(),
    role: "USER",
    messageType: "CONVERSATION",
    message: input.text,
    connectionId: input.connectionId,
  }, options);
}

/**
 * Queues the job of a stored USER message and records that it is queued. jobId = messageId
 * and SQS deduplicates on it, so a retry is one job. Throws EnqueueFailedError only when the
 * job did not reach the queue: once SendMessage succeeded the job exists, and a failed
 * `enqueuedAt` mark only means a later retry sends it again (deduplicated, and the turn's
 * job record answers it once).
 */
/** The queue job for a stored USER message: its own id as jobId, unless another answer to it (regenerateReply). */
export function jobOf(stored: Message, input: Pick<UserMessageInput, "userId" | "connectionId" | "source" | "timeZone" | "locale">, jobId = stored.messageId): AgentJob {
  return {
    v: 1,
    jobId,
    sessionId: stored.sessionId,
    userId: input.userId,
    connectionId: input.connectionId,
    messageId: stored.messageId,
    message: stored.message,
    createdAt: stored.createdAt,
    source: input.source,
    ...(input.timeZone && { timeZone: input.timeZone }),
    ...(input.locale && { locale: input.locale }),
  };
}

export async function enqueueUserMessage(
  deps: Pick<SubmitUserMessageDeps, "messages" | "sqs" | "queueUrl">,
  stored: Message,
  input: UserMessageInput,
  log?: SubmitLog,
): Promise<Message> {
  if (stored.enqueuedAt !== undefined) return stored;
  const job = jobOf(stored, input);
  try {
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: deps.queueUrl,
        MessageBody: JSON.stringify(job),
        MessageGroupId: job.sessionId,
        MessageDeduplicationId: job.jobId,
      }),
    );
  } catch (error) {
    throw new EnqueueFailedError(stored, error);
  }
  const enqueuedAt = Date.now();
  try {
    await deps.messages.markEnqueued(stored.sessionId, stored.createdAt, enqueuedAt);
  } catch (error) {
    log?.warn("the job is queued but the message is not marked so", { jobId: job.jobId, error });
  }
  return { ...stored, enqueuedAt };
}

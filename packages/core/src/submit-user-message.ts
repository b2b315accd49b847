import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { EventPublisher } from "./event-publisher.ts";
import { messagePosted } from "./pending-events.ts";
import type { AgentJob } from "./job.ts";
import { SessionGoneError, type MessagesRepository, type PutOptions } from "./messages-repository.ts";
import type { Message } from "./message.ts";
import type { Notifier } from "./notifier.ts";
import type { ServerFrame } from "./frames.ts";
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
  /**
   * MessagePosted, for observers, made on first use: a call announces only a message it stored
   * but could not queue (a queued one's turn announces it), so the caller can import the
   * publisher then (chat's deps.ts), keeping the EventBridge client out of its cold start.
   */
  events: () => Promise<EventPublisher>;
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
   * ack to the sender, which carries the message. True when it reached the sender's tab
   * (`connectionId`): the message is then shown to the session's other tabs only. Its failure
   * is logged; the message is queued all the same, and shown to the sender's tab too.
   */
  acknowledge?: (message: Message) => Promise<boolean>;
  log: SubmitLog;
}

export type SubmitResult =
  /**
   * Stored and queued: ack it (the 202 of the HTTP API). `firstMessage`: the session had no
   * message before (its summary's count went from 0 to 1 with this call).
   */
  | { status: "enqueued"; message: Message; created: boolean; firstMessage: boolean }
  /** Stored, but its job is not on the queue: NOT acked; a retry with the same clientMessageId queues it. */
  | { status: "stored"; message: Message; created: boolean; cause: unknown }
  /** Over the user's message rate: nothing stored. */
  | { status: "rate_limited"; retryAfterMs: number }
  /** The session is gone (deleted since the tab opened it) or not the user's: nothing stored. */
  | { status: "not_found" };

/**
 * The one path of a USER message, for putMessage and generateChatReply alike: the user's rate
 * limit, store, enqueue, then ack it to its sender and show it to every other tab. The ack
 * comes only after the job is queued: a client that waits for each ack before sending the next
 * (API Gateway promises no order between a connection's frames) then has its messages queued,
 * and answered, in the order it sent them, and an acked message always has its job. Stored
 * before queued: a job never exists for a message a reload would not show.
 *
 * Two DynamoDB requests: the message with its guard (one transaction), then, once the job is
 * on the queue, its `enqueuedAt` with the session's summary (another). Its MessagePosted goes
 * out with its turn's events (the job says so: `announce`), in the agent's one PutEvents of
 * the turn; chat publishes it only when no job will, the attempt that stored it having failed
 * to queue it.
 */
export async function submitUserMessage(deps: SubmitUserMessageDeps, input: UserMessageInput, hooks: SubmitHooks): Promise<SubmitResult> {
  const { log } = hooks;
  const rate = await checkMessageRate(deps, input.userId, log);
  if (rate) return rate;

  let stored: Message;
  let created: boolean;
  try {
    ({ message: stored, created } = await storeUserMessage(deps, input, { touch: false, ofUser: input.userId }));
  } catch (error) {
    if (!(error instanceof SessionGoneError)) throw error;
    log.warn("the session is gone; nothing stored", { sessionId: input.sessionId });
    return { status: "not_found" };
  }
  log.info(created ? "message stored" : "message replayed", { messageId: stored.messageId, createdAt: stored.createdAt });
  let queued: QueuedMessage;
  try {
    // Counted in the session's summary with its enqueuedAt, once, by the call that stored it.
    queued = await enqueueUserMessage(deps, stored, input, log, { touch: created, announce: created });
  } catch (error) {
    if (!(error instanceof EnqueueFailedError)) throw error;
    log.error("enqueue failed", { jobId: stored.messageId, error: error.cause });
    if (created) {
      // Stored and counted, it is a chat listSessions shows, queued or not: the other tabs are told.
      if (await countInSummary(deps, stored, log)) await tellNewChat(deps, input.userId, stored, log);
      // No job of this call carries it, and a retry's job will not announce it: announced here, once.
      await deps
        .events()
        .then((events) => events.publish([messagePosted(stored)]))
        .catch((cause: unknown) => log.warn("MessagePosted not published", { error: cause }));
    }
    return { status: "stored", message: stored, created, cause: error.cause };
  }
  const { message } = queued;

  // What follows shows what is stored and queued; a failure is logged, never undoes the job.
  // The summary was written with enqueuedAt: an acked message's session is in listSessions.
  const acked = hooks.acknowledge
    ? await hooks.acknowledge(message).catch((error: unknown) => (log.warn("the ack did not reach the sender", { messageId: message.messageId, error }), false))
    : false;
  try {
    const fanout = await deps.notifier.postToSession(message.sessionId, { type: "message", message }, acked ? input.connectionId : undefined);
    for (const { connectionId, error } of fanout.failed) log.warn("a tab missed the message", { tab: connectionId, error });
  } catch (error) {
    log.warn("the message was not shown to the tabs", { messageId: message.messageId, error });
  }
  if (queued.firstMessage) await tellNewChat(deps, input.userId, message, log);
  return { status: "enqueued", message, created, firstMessage: queued.firstMessage };
}

/**
 * A chat's first message makes it a chat, whichever API it came through: the user's other tabs
 * list it now, untitled, not only once its title comes. A failure is logged.
 */
async function tellNewChat(deps: Pick<SubmitUserMessageDeps, "notifier">, userId: string, first: Message, log: SubmitLog): Promise<void> {
  try {
    const told = await deps.notifier.postToUser(userId, sessionBegun(first.sessionId, first.createdAt));
    for (const { connectionId, error } of told.failed) log.warn("a tab missed a session change", { tab: connectionId, error });
  } catch (error) {
    log.warn("the new chat was not pushed to the user's tabs", { sessionId: first.sessionId, error });
  }
}

/**
 * A chat that has just stored its first message: from now on listSessions shows it. It has no
 * title yet (the first answer brings one, another sessionUpdated); a client keeps a title it
 * knows (a chat renamed while empty) over this empty one.
 */
export function sessionBegun(sessionId: string, firstMessageAt: number): ServerFrame {
  return { type: "sessionUpdated", session: { sessionId, title: "", updatedAt: firstMessageAt } };
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
export async function storeUserMessage(deps: Pick<SubmitUserMessageDeps, "messages">, input: UserMessageInput, options: Pick<PutOptions, "touch" | "ofUser"> = {}) {
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

/** The queue job for a stored USER message: its own id as jobId, unless another answer to it (regenerateReply). */
export function jobOf(stored: Message, input: Pick<UserMessageInput, "userId" | "connectionId" | "source" | "timeZone" | "locale">, jobId = stored.messageId, announce = false): AgentJob {
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
    ...(announce && { announce: true as const }),
  };
}

export interface QueuedMessage {
  message: Message;
  /** The session had no message before this one (known only when the call counted it: `touch`). */
  firstMessage: boolean;
}

export interface EnqueueOptions {
  /** Count the message in the session's summary, with its enqueuedAt (the call that stored it). */
  touch?: boolean;
  /** The job's turn publishes the message's MessagePosted (the call that stored it queues it). */
  announce?: boolean;
}

/**
 * Queues the job of a stored USER message and records that it is queued. jobId = messageId
 * and SQS deduplicates on it, so a retry is one job. Throws EnqueueFailedError only when the
 * job did not reach the queue: once SendMessage succeeded the job exists, and a failed
 * `enqueuedAt` mark only means a later retry sends it again (deduplicated, and the turn's
 * job record answers it once).
 */
export async function enqueueUserMessage(
  deps: Pick<SubmitUserMessageDeps, "messages" | "sqs" | "queueUrl">,
  stored: Message,
  input: UserMessageInput,
  log?: SubmitLog,
  options: EnqueueOptions = {},
): Promise<QueuedMessage> {
  if (stored.enqueuedAt !== undefined) return { message: stored, firstMessage: false };
  const job = jobOf(stored, input, stored.messageId, options.announce);
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
  let firstMessage = false;
  try {
    ({ firstMessage } = await deps.messages.markEnqueued(stored.sessionId, stored.createdAt, enqueuedAt, { touch: options.touch }));
  } catch (error) {
    log?.warn("the job is queued but the message is not marked so", { jobId: job.jobId, error });
    if (options.touch) firstMessage = await countInSummary(deps, stored, log);
  }
  return { message: { ...stored, enqueuedAt }, firstMessage };
}

/**
 * Counts a stored USER message in its session's summary on its own, when it could not go with
 * its enqueuedAt; whether it was the session's first. A failure is logged (and is not a first).
 */
async function countInSummary(deps: Pick<SubmitUserMessageDeps, "messages">, stored: Message, log: SubmitLog | undefined): Promise<boolean> {
  return deps.messages.touchSession(stored.sessionId, stored.createdAt, 1).catch((error: unknown) => {
    log?.warn("the session's summary was not updated", { sessionId: stored.sessionId, error });
    return false;
  });
}

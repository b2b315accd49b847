import { enqueueUserMessage, EnqueueFailedError, messagePosted, RedisUnavailableError, storeUserMessage } from "@azuchi/core";
import { checkMessageText, FrameError, parseClientFrame } from "../client-frames.ts";
import { messageRoute, sessionOfConnection, type RouteInput } from "../message-route.ts";

/**
 * putMessage: store the USER message, ack it, show it to every tab, then queue the job.
 * Showing before queueing keeps the user's message above the agent's first log.
 * A retry (same clientMessageId) is the same message: it is acked again and, if its job
 * never reached the queue, queued now.
 */
export const handler = messageRoute("putMessage", async (route) => {
  const { connectionId, userId, body, deps, log } = route;
  const frame = parseClientFrame("putMessage", body);
  const text = checkMessageText(frame.message, deps.config.maxMessageChars);
  await checkRate(route);
  const { sessionId } = await sessionOfConnection(route);
  const input = { sessionId, userId, text, source: "websocket" as const, connectionId, clientMessageId: frame.clientMessageId };

  const { message: stored, created } = await storeUserMessage(deps, input);
  log.info(created ? "message stored" : "message replayed", { messageId: stored.messageId, createdAt: stored.createdAt });
  // The ack and the fan-out show what is stored; whatever happens to them, the job is queued.
  try {
    await deps.notifier.postToConnection(connectionId, {
      type: "ack",
      clientMessageId: frame.clientMessageId,
      messageId: stored.messageId,
      createdAt: stored.createdAt,
    });
    const fanout = await deps.notifier.postToSession(sessionId, { type: "message", message: stored });
    for (const { connectionId: tab, error } of fanout.failed) log.warn("a tab missed the message", { tab, error: error as Error });
  } catch (error) {
    log.warn("the message was not shown; it is queued all the same", { messageId: stored.messageId, error: error as Error });
  }
  try {
    await enqueueUserMessage(deps, stored, input);
  } catch (error) {
    if (!(error instanceof EnqueueFailedError)) throw error;
    log.error("enqueue failed", { jobId: stored.messageId, error: error.cause as Error });
    await deps.notifier.postToConnection(connectionId, {
      type: "error",
      code: "INTERNAL",
      message: "Your message was saved but the agent could not be reached; send it again (same clientMessageId) to retry.",
      messageId: stored.messageId,
      clientMessageId: frame.clientMessageId,
    });
  }
  // For observers only (the message is stored and queued): a failure is logged, not the user's problem.
  if (created) await deps.events.publish([messagePosted(stored)]).catch((error: unknown) => log.warn("MessagePosted not published", { error: error as Error }));
});

/** Per-connection token bucket. Without Redis the message still goes through: a limit must not take chat down. */
async function checkRate({ deps, connectionId, log }: RouteInput): Promise<void> {
  let decision;
  try {
    decision = await deps.rateLimiter.consume(deps.chatKeys.rateLimit(connectionId, "putMessage"));
  } catch (error) {
    if (!(error instanceof RedisUnavailableError)) throw error;
    log.error("rate limit not checked: Redis is unavailable", { error });
    return;
  }
  if (decision.allowed) return;
  const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  throw new FrameError("RATE_LIMITED", `Too many messages; wait ${seconds} s before sending the next one.`, {
    retryAfterMs: decision.retryAfterMs,
  });
}

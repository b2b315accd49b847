import { retryUserMessage } from "@azuchi/core/repositories";
import { FrameError, parseClientFrame } from "../client-frames.ts";
import { notifier, requeueDeps } from "../deps.ts";
import { messageRoute, sessionOfConnection } from "../message-route.ts";

/**
 * retryMessage: queues a USER message of this connection's session again (Retry after the
 * agent gave up), then acks it to the sender with the retryId as its clientMessageId. What the
 * user then sees is the agent's doing: the new attempts' notices, then the answer.
 */
export const handler = messageRoute("retryMessage", async (route) => {
  const { connectionId, userId, log } = route;
  const frame = parseClientFrame("retryMessage", route.body);
  const { sessionId } = await sessionOfConnection(route);
  const result = await retryUserMessage(requeueDeps(), { sessionId, userId, connectionId, messageId: frame.messageId, retryId: frame.retryId, timeZone: frame.timeZone, locale: frame.locale }, log);
  if (result.status === "not_found") throw new FrameError("NOT_FOUND", "There is no such message of yours in this chat.", { messageId: frame.messageId, retryId: frame.retryId });
  if (result.status === "rate_limited") {
    const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
    throw new FrameError("RATE_LIMITED", `Too many messages; wait ${seconds} s before retrying.`, { retryAfterMs: result.retryAfterMs, messageId: frame.messageId, retryId: frame.retryId });
  }
  await notifier().postToConnection(connectionId, { type: "ack", clientMessageId: frame.retryId, messageId: result.message.messageId, createdAt: result.message.createdAt });
});

import { regenerateReply } from "@azuchi/core/repositories";
import { FrameError, parseClientFrame } from "../client-frames.ts";
import { notifier, requeueDeps } from "../deps.ts";
import { messageRoute, sessionOfConnection } from "../message-route.ts";

/**
 * regenerateReply: another answer to a USER message of this connection's session, as a new job
 * `<messageId>:<regenerateId>`; acked to the sender with the regenerateId as its clientMessageId.
 * The answers before it are kept (previous versions).
 */
export const handler = messageRoute("regenerateReply", async (route) => {
  const { connectionId, userId, log } = route;
  const frame = parseClientFrame("regenerateReply", route.body);
  const { sessionId } = await sessionOfConnection(route);
  const input = { sessionId, userId, connectionId, messageId: frame.messageId, regenerateId: frame.regenerateId, timeZone: frame.timeZone, locale: frame.locale };
  const result = await regenerateReply(requeueDeps(), input, log);
  const about = { messageId: frame.messageId, retryId: frame.regenerateId };
  if (result.status === "not_found") throw new FrameError("NOT_FOUND", "There is no such message of yours in this chat.", about);
  if (result.status === "rate_limited") {
    const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
    throw new FrameError("RATE_LIMITED", `Too many messages; wait ${seconds} s before asking again.`, { retryAfterMs: result.retryAfterMs, ...about });
  }
  await notifier().postToConnection(connectionId, { type: "ack", clientMessageId: frame.regenerateId, messageId: result.message.messageId, createdAt: result.message.createdAt });
});

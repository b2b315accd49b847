import { submitUserMessage } from "@azuchi/core/repositories";
import { checkMessageText, FrameError, parseClientFrame } from "../client-frames.ts";
import { ConnectionSessions, messageRoute, sessionOfConnection } from "../message-route.ts";
import { recordSubmit } from "../message-metrics.ts";
import { chatConfig, notifier } from "../deps.ts";
import { submitDeps } from "../submit-deps.ts";

/**
 * putMessage: parse, submit (the user's rate limit, store, enqueue, ack with the stored message,
 * show it to the session's other tabs: core's submitUserMessage), and map what did not go
 * through to an `error` frame. A retry (same clientMessageId) is the same message: acked again
 * and, if its job never reached the queue, queued now.
 */
/** This instance's connections: a tab's second message onward needs no read of its row. */
const connectionSessions = new ConnectionSessions();

export const handler = messageRoute("putMessage", async (route) => {
  const { connectionId, userId, body, log } = route;
  const frame = parseClientFrame("putMessage", body);
  const text = checkMessageText(frame.message, chatConfig().maxMessageChars);
  const { sessionId } = await sessionOfConnection(route, connectionSessions);
  const input = { sessionId, userId, text, source: "websocket" as const, connectionId, clientMessageId: frame.clientMessageId, timeZone: frame.timeZone, locale: frame.locale };

  const result = await submitUserMessage(submitDeps(), input, {
    log,
    acknowledge: (message) =>
      notifier().postToConnection(connectionId, { type: "ack", clientMessageId: frame.clientMessageId, messageId: message.messageId, createdAt: message.createdAt, message }),
  });
  recordSubmit(result);
  if (result.status === "not_found") throw new FrameError("NOT_FOUND", "This chat no longer exists.");
  if (result.status === "rate_limited") {
    const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
    throw new FrameError("RATE_LIMITED", `Too many messages; wait ${seconds} s before sending the next one.`, { retryAfterMs: result.retryAfterMs });
  }
  if (result.status === "stored") {
    throw new FrameError("INTERNAL", "Your message was saved but the agent could not be reached; send it again (same clientMessageId) to retry.", {
      messageId: result.message.messageId,
      clientMessageId: frame.clientMessageId,
    });
  }
});

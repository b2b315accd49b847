import { enqueueUserMessage, EnqueueFailedError, storeUserMessage } from "@azuchi/core";
import { checkMessageText, parseClientFrame } from "../client-frames.ts";
import { messageRoute, sessionOfConnection } from "../message-route.ts";

/**
 * putMessage: store the USER message, ack it, show it to every tab, then queue the job.
 * Showing before queueing keeps the user's message above the agent's first log.
 */
export const handler = messageRoute("putMessage", async ({ connectionId, userId, body, deps }) => {
  const frame = parseClientFrame("putMessage", body);
  const text = checkMessageText(frame.message);
  const { sessionId } = await sessionOfConnection(deps, connectionId);
  const input = { sessionId, userId, text, source: "websocket" as const, connectionId, clientMessageId: frame.clientMessageId };

  const { message: stored } = await storeUserMessage(deps, input);
  await deps.notifier.postToConnection(connectionId, {
    type: "ack",
    clientMessageId: frame.clientMessageId,
    messageId: stored.messageId,
    createdAt: stored.createdAt,
  });
  await deps.notifier.postToSession(sessionId, { type: "message", message: stored });
  try {
    await enqueueUserMessage(deps, stored, input);
  } catch (error) {
    if (!(error instanceof EnqueueFailedError)) throw error;
    deps.logger.error("enqueue failed", { sessionId, jobId: stored.messageId, error: error.cause as Error });
    await deps.notifier.postToConnection(connectionId, {
      type: "error",
      code: "INTERNAL",
      message: "Your message was saved but the agent could not be reached; send it again to retry.",
      messageId: stored.messageId,
      clientMessageId: frame.clientMessageId,
    });
  }
});

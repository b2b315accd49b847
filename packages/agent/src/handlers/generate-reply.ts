import { EnqueueFailedError, messageTextProblem, enqueueUserMessage, MAX_MESSAGE_CHARS, messagePosted, storeUserMessage } from "@azuchi/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { z } from "zod";
import { httpDeps } from "../http-deps.ts";

const Body = z.object({
  message: z.string(),
  /** Optional: makes a retried request the same message and job. */
  clientMessageId: z.uuid().optional(),
});

const maxChars = () => Number(process.env.AZUCHI_MAX_MESSAGE_CHARS) || MAX_MESSAGE_CHARS;

function reply(statusCode: number, body: Record<string, unknown>): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

/**
 * generateChatReply: POST /api/v1/chat/sessions/{sessionId}/reply/generate. Stores the USER
 * message and queues its job through the same code as the WebSocket's putMessage, shows it
 * to the session's tabs, and answers 202 with the jobId; the reply arrives on the WebSocket.
 */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const deps = httpDeps();
  const userId = (event.requestContext as { authorizer?: { lambda?: { userId?: string } } }).authorizer?.lambda?.userId;
  if (!userId) return reply(401, { message: "Unauthorized" });
  const sessionId = event.pathParameters?.sessionId ?? "";
  if (!z.uuid().safeParse(sessionId).success) return reply(404, { message: "No such session." });

  let json: unknown;
  try {
    json = JSON.parse(event.body ?? "");
  } catch {
    return reply(400, { message: 'The body must be JSON: {"message": "…"}.' });
  }
  const body = Body.safeParse(json);
  if (!body.success) return reply(400, { message: `Invalid body: ${z.prettifyError(body.error)}` });
  const text = body.data.message;
  const problem = messageTextProblem(text, maxChars());
  if (problem) return reply(problem.code === "MESSAGE_TOO_LONG" ? 413 : 400, { ...problem });

  const session = await deps.sessions.get(sessionId);
  if (!session) return reply(404, { message: "No such session." });
  if (session.userId !== userId) return reply(403, { message: "This session belongs to another user." });

  const input = { sessionId, userId, text, source: "http" as const, clientMessageId: body.data.clientMessageId };
  const { message: stored, created } = await storeUserMessage(deps, input);
  // Showing the message to the tabs must not keep it from its job: a failure here is only logged.
  await deps.notifier
    .postToSession(sessionId, { type: "message", message: stored })
    .then(({ failed }) => failed.forEach(({ connectionId, error }) => deps.logger.warn("a tab missed the message", { sessionId, connectionId, error: error as Error })))
    .catch((error: unknown) => deps.logger.warn("the message was not shown to the tabs", { sessionId, error: error as Error }));
  try {
    await enqueueUserMessage(deps, stored, input);
  } catch (error) {
    if (!(error instanceof EnqueueFailedError)) throw error;
    deps.logger.error("enqueue failed", { sessionId, jobId: stored.messageId, error: error.cause as Error });
    return reply(503, { message: "The message was saved but the agent could not be reached; retry with the same clientMessageId.", jobId: stored.messageId });
  }
  if (created) await deps.events.publish([messagePosted(stored)]).catch((error: unknown) => deps.logger.warn("MessagePosted not published", { error: error as Error }));
  return reply(202, { jobId: stored.messageId });
}

import { messageTextProblem, PutMessageFrame } from "@azuchi/core/contracts";
import { submitUserMessage } from "@azuchi/core/repositories";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import * as z from "zod/mini";
import { httpDeps } from "../http-deps.ts";

const Body = z.object({
  message: z.string(),
  /** Optional: makes a retried request the same message and job. */
  clientMessageId: z.optional(z.uuid()),
  /** The caller's IANA time zone and locale, for the agent's time tool (as putMessage's). */
  timeZone: PutMessageFrame.shape.timeZone,
  locale: PutMessageFrame.shape.locale,
});

function reply(statusCode: number, body: Record<string, unknown>, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}

/**
 * generateChatReply: POST /api/v1/chat/sessions/{sessionId}/reply/generate. Parses, checks
 * ownership, submits through the same use case as the WebSocket's putMessage (the user's
 * rate limit, store, enqueue, show to the session's tabs) and maps the result to a status:
 * 202 with the jobId once queued, 429 with Retry-After, 503 when stored but not queued.
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
  const problem = messageTextProblem(text, deps.maxMessageChars);
  if (problem) return reply(problem.code === "MESSAGE_TOO_LONG" ? 413 : 400, { ...problem });

  const session = await deps.sessions.get(sessionId);
  if (!session) return reply(404, { message: "No such session." });
  if (session.userId !== userId) return reply(403, { message: "This session belongs to another user." });

  const log = deps.logger.createChild();
  log.appendKeys({ sessionId });
  const input = { sessionId, userId, text, source: "http" as const, clientMessageId: body.data.clientMessageId, timeZone: body.data.timeZone, locale: body.data.locale };
  const result = await submitUserMessage(deps, input, { log });
  switch (result.status) {
    case "enqueued":
      return reply(202, { jobId: result.message.messageId });
    case "rate_limited": {
      const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
      return reply(429, { message: `Too many messages; retry in ${seconds} s.`, retryAfterMs: result.retryAfterMs }, { "retry-after": String(seconds) });
    }
    case "not_found":
      return reply(404, { message: "No such session." });
    case "stored":
      return reply(503, { message: "The message was saved but the agent could not be reached; retry with the same clientMessageId.", jobId: result.message.messageId });
  }
}

import { z } from "zod";
import { chatDeps } from "../deps.ts";
import { WebSocketEvent, type WebSocketResult } from "../websocket-event.ts";

/**
 * $connect: opens a tab on a session. Without `sessionId` a new session is created for
 * the token's user; a sessionId that is malformed, unknown or someone else's is refused.
 */
export async function handler(rawEvent: unknown): Promise<WebSocketResult> {
  const deps = chatDeps();
  const event = WebSocketEvent.parse(rawEvent);
  const { connectionId, connectedAt } = event.requestContext;
  const userId = event.requestContext.authorizer?.userId;
  if (!userId) return { statusCode: 401, body: "Unauthorized" };

  const requested = event.queryStringParameters?.sessionId;
  let sessionId: string;
  if (requested === undefined || requested === "") {
    sessionId = (await deps.sessions.create(userId)).sessionId;
  } else {
    if (!z.uuid().safeParse(requested).success) return { statusCode: 400, body: "sessionId must be a UUID" };
    const session = await deps.sessions.get(requested);
    if (!session) return { statusCode: 404, body: "no such session" };
    if (session.userId !== userId) {
      deps.logger.warn("connect to another user's session refused", { connectionId, sessionId: requested });
      return { statusCode: 403, body: "not your session" };
    }
    sessionId = session.sessionId;
  }
  await deps.connections.put({ connectionId, sessionId, userId, connectedAt: connectedAt ?? Date.now() });
  deps.logger.info("connected", { connectionId, sessionId });
  return { statusCode: 200 };
}

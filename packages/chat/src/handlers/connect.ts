import { RedisUnavailableError } from "@azuchi/core/redis";
import * as z from "zod/mini";
import { chatConfig, chatKeys, chatLogger, connections, newSessionRate, sessions } from "../deps.ts";
import { WebSocketEvent, type WebSocketResult } from "../websocket-event.ts";

/**
 * $connect: opens a tab on a session. Without `sessionId` a new session is created for
 * the token's user; a sessionId that is malformed, unknown or someone else's is refused.
 * A user over their open connections, or over the sessions they may create per hour, is
 * refused with 429.
 */
export async function handler(rawEvent: unknown): Promise<WebSocketResult> {
  const event = WebSocketEvent.parse(rawEvent);
  const { connectionId, connectedAt } = event.requestContext;
  const userId = event.requestContext.authorizer?.userId;
  if (!userId) return { statusCode: 401, body: "Unauthorized" };

  const { limits } = chatConfig();
  const logger = chatLogger();
  const open = await connections().countByUser(userId);
  if (open >= limits.maxConnectionsPerUser) {
    logger.warn("connect refused: too many open connections", { connectionId, userId, open });
    return { statusCode: 429, body: `at most ${limits.maxConnectionsPerUser} open connections per user` };
  }

  const requested = event.queryStringParameters?.sessionId;
  let sessionId: string;
  if (requested === undefined || requested === "") {
    if (!(await mayCreateSession(userId))) {
      logger.warn("connect refused: too many new sessions", { connectionId, userId });
      return { statusCode: 429, body: `at most ${limits.maxNewSessionsPerHour} new sessions per hour` };
    }
    sessionId = (await sessions().create(userId)).sessionId;
  } else {
    if (!z.uuid().safeParse(requested).success) return { statusCode: 400, body: "sessionId must be a UUID" };
    const session = await sessions().get(requested);
    if (!session) return { statusCode: 404, body: "no such session" };
    if (session.userId !== userId) {
      logger.warn("connect to another user's session refused", { connectionId, sessionId: requested });
      return { statusCode: 403, body: "not your session" };
    }
    sessionId = session.sessionId;
  }
  await connections().put({ connectionId, sessionId, userId, connectedAt: connectedAt ?? Date.now() });
  logger.info("connected", { connectionId, sessionId });
  return { statusCode: 200 };
}

/** Without Redis the session is created: a limit must not take chat down. */
async function mayCreateSession(userId: string): Promise<boolean> {
  try {
    return (await newSessionRate().consume(chatKeys().userNewSessionRate(userId))).allowed;
  } catch (error) {
    if (!(error instanceof RedisUnavailableError)) throw error;
    chatLogger().error("new-session limit not checked: Redis is unavailable", { error });
    return true;
  }
}

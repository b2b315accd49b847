import { parseClientFrame } from "../client-frames.ts";
import { notifier, sessionCursors, sessions } from "../deps.ts";
import { messageRoute } from "../message-route.ts";

const DEFAULT_LIMIT = 20;

/**
 * listSessions: the caller's own sessions that have messages, most recently updated first,
 * a page at a time. The user comes from the token (the authorizer), never from the frame.
 */
export const handler = messageRoute("listSessions", async ({ connectionId, userId, body }) => {
  const frame = parseClientFrame("listSessions", body);
  const after = frame.cursor === undefined ? undefined : sessionCursors().decode(userId, frame.cursor);
  const page = await sessions().listByUser(userId, { limit: frame.limit ?? DEFAULT_LIMIT, after });
  await notifier().postToConnection(connectionId, {
    type: "sessions",
    sessions: page.sessions.map(({ sessionId, title, updatedAt }) => ({ sessionId, title, updatedAt })),
    ...(page.next ? { cursor: sessionCursors().encode(userId, page.next) } : {}),
  });
});

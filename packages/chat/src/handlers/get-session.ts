import { toSessionSummary } from "@azuchi/core/repositories";
import { FrameError, parseClientFrame } from "../client-frames.ts";
import { messageRoute, sessionOfConnection } from "../message-route.ts";

/** getSession: the connection's session and its messages, oldest first. */
export const handler = messageRoute("getSession", async (route) => {
  const { connectionId, body, deps } = route;
  const frame = parseClientFrame("getSession", body);
  const { sessionId } = await sessionOfConnection(route);
  const session = await deps.sessions.get(sessionId);
  if (!session) throw new FrameError("NOT_FOUND", "This session no longer exists.");
  const messages = await deps.messages.list(sessionId, { before: frame.before, after: frame.after, limit: frame.limit });
  await deps.notifier.postToConnection(connectionId, { type: "session", session: toSessionSummary(session), messages });
});

import { toSessionSummary } from "@azuchi/core/repositories";
import { FrameError, parseClientFrame } from "../client-frames.ts";
import { messages, notifier, sessions } from "../deps.ts";
import { messageRoute, sessionOfConnection } from "../message-route.ts";

/** getSession: the connection's session and its messages, oldest first. */
export const handler = messageRoute("getSession", async (route) => {
  const { connectionId, body } = route;
  const frame = parseClientFrame("getSession", body);
  const { sessionId } = await sessionOfConnection(route);
  const session = await sessions().get(sessionId);
  if (!session) throw new FrameError("NOT_FOUND", "This session no longer exists.");
  const page = await messages().list(sessionId, { before: frame.before, after: frame.after, limit: frame.limit });
  await notifier().postToConnection(connectionId, { type: "session", session: toSessionSummary(session), messages: page });
});

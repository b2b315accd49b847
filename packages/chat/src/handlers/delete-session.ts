import { FrameError, parseClientFrame } from "../client-frames.ts";
import { messageRoute } from "../message-route.ts";
import { agentKeys, connections, messages, notifier, redis, sessions } from "../deps.ts";
import { deleteSession } from "../session-changes.ts";

/**
 * deleteSession: deletes one of the user's chats (session-changes.ts) and tells every tab of
 * theirs (sessionDeleted); a tab showing it moves to a new chat. The user's tabs are listed
 * before the delete, so the tabs that were on the chat are told too.
 */
export const handler = messageRoute("deleteSession", async (route) => {
  const { userId, log } = route;
  const frame = parseClientFrame("deleteSession", route.body);
  const tabs = await connections().listByUser(userId);
  const result = await deleteSession({ sessions: sessions(), connections: connections(), messages: messages(), redis: redis(), agentKeys: agentKeys() }, frame.sessionId, userId);
  if (!result.deleted) throw new FrameError("NOT_FOUND", "There is no such chat of yours.", { sessionId: frame.sessionId });
  log.info("session deleted", { sessionId: frame.sessionId, messages: result.messages, tabs: result.tabs });
  const fanout = await notifier().postToConnections(
    tabs.map((t) => t.connectionId),
    { type: "sessionDeleted", sessionId: frame.sessionId },
  );
  for (const { connectionId, error } of fanout.failed) log.warn("a tab missed the delete", { tab: connectionId, error });
});

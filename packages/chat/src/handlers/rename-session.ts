import { FrameError, parseClientFrame } from "../client-frames.ts";
import { notifier, sessions } from "../deps.ts";
import { messageRoute } from "../message-route.ts";
import { pushToUser, sessionUpdated } from "../session-changes.ts";
import { titleFromMessage } from "../session-title.ts";

/** renameSession: one of the user's chats gets the title they typed; every tab of theirs is told (sessionUpdated). */
export const handler = messageRoute("renameSession", async (route) => {
  const { userId, log } = route;
  const frame = parseClientFrame("renameSession", route.body);
  // Made one line and cut as automatic titles are.
  const title = titleFromMessage(frame.title);
  if (title === "") throw new FrameError("BAD_REQUEST", "A chat's name cannot be empty.", { sessionId: frame.sessionId });
  const session = await sessions().rename(frame.sessionId, userId, title);
  if (!session) throw new FrameError("NOT_FOUND", "There is no such chat of yours.", { sessionId: frame.sessionId });
  log.info("session renamed", { sessionId: frame.sessionId });
  await pushToUser(notifier(), userId, sessionUpdated(session), log);
});

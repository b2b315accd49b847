import { AGENT_EVENT_SOURCE, AgentRunCompletedDetail } from "@azuchi/core";
import { z } from "zod";
import { chatDeps } from "../deps.ts";
import { pushToUser, sessionUpdated } from "../session-changes.ts";
import { titleFromMessage } from "../session-title.ts";

const AgentRunCompletedEvent = z.object({
  source: z.literal(AGENT_EVENT_SOURCE),
  "detail-type": z.literal("AgentRunCompleted"),
  detail: AgentRunCompletedDetail,
});

/**
 * EventBridge target for `AgentRunCompleted`: after a session's first exchange, names it
 * after its first USER message so listSessions is useful. Delivery is at least once and
 * the title is set only while empty, so a repeated or late event changes nothing.
 * Once titled, every tab of the user is told (sessionUpdated), so a chat begun in one tab
 * appears in the others' sidebars. An event that is not one (wrong shape) is logged and
 * dropped: retrying cannot fix it.
 */
export async function handler(rawEvent: unknown): Promise<void> {
  const deps = chatDeps();
  const { sessions, messages, logger } = deps;
  const event = AgentRunCompletedEvent.safeParse(rawEvent);
  if (!event.success) {
    logger.error("not an AgentRunCompleted event; dropped", { issues: z.prettifyError(event.error) });
    return;
  }
  const { sessionId, jobId } = event.data.detail;
  const session = await sessions.get(sessionId);
  if (!session || session.title !== "") return;
  const first = await messages.first(sessionId, "USER");
  const title = first ? titleFromMessage(first.message) : "";
  if (title === "") return;
  if (!(await sessions.setTitleIfEmpty(sessionId, title))) return;
  logger.info("session titled", { sessionId, jobId });
  await pushToUser(deps, session.userId, sessionUpdated({ ...session, title }), logger);
}

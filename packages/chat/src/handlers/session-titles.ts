import { AGENT_EVENT_SOURCE, AgentRunCompletedDetail } from "@azuchi/core/contracts";
import * as z from "zod/mini";
import { chatLogger, messages, notifier, sessions } from "../deps.ts";
import { pushToUser, sessionUpdated } from "../session-changes.ts";
import { titleFromMessage } from "../session-title.ts";

const AgentRunCompletedEvent = z.object({
  source: z.literal(AGENT_EVENT_SOURCE),
  "detail-type": z.literal("AgentRunCompleted"),
  detail: AgentRunCompletedDetail,
});

/**
 * Sessions this instance has seen titled, newest last, bounded: a title once set is kept
 * (setTitleIfEmpty), so every later turn of the session needs no read to know it.
 */
const titled = new Set<string>();
const MAX_REMEMBERED = 10_000;

function rememberTitled(sessionId: string): void {
  if (titled.size >= MAX_REMEMBERED) titled.delete(titled.values().next().value!);
  titled.add(sessionId);
}

/**
 * EventBridge target for `AgentRunCompleted`: after a session's first exchange, names it
 * after its first USER message so listSessions is useful. Delivery is at least once and
 * the title is set only while empty, so a repeated or late event changes nothing.
 * Once titled, every tab of the user is told (sessionUpdated), so a chat begun in one tab
 * appears in the others' sidebars. An event that is not one (wrong shape) is logged and
 * dropped: retrying cannot fix it.
 */
export async function handler(rawEvent: unknown): Promise<void> {
  const logger = chatLogger();
  const event = AgentRunCompletedEvent.safeParse(rawEvent);
  if (!event.success) {
    logger.error("not an AgentRunCompleted event; dropped", { issues: z.prettifyError(event.error) });
    return;
  }
  const { sessionId, jobId } = event.data.detail;
  if (titled.has(sessionId)) return;
  const session = await sessions().get(sessionId);
  if (!session) return;
  if (session.title !== "") return rememberTitled(sessionId);
  const first = await messages().first(sessionId, "USER");
  const title = first ? titleFromMessage(first.message) : "";
  if (title === "") return;
  const titledNow = await sessions().setTitleIfEmpty(sessionId, title);
  rememberTitled(sessionId);
  if (!titledNow) return;
  logger.info("session titled", { sessionId, jobId });
  await pushToUser(notifier(), session.userId, sessionUpdated({ ...session, title }), logger);
}

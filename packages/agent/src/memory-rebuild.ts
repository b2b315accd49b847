import type { AgentJob, Message, MessagesRepository } from "@azuchi/core";
import type { HistoryEntry } from "./conversation-memory.ts";

const PAGE = 200;
/** Bound on the messages read back (plans, logs and notices sit between the exchanges). */
const MAX_PAGES = 5;

/**
 * The session's conversation rebuilt from the messages table, for when Redis has lost it (a
 * failover to an empty node, or the memory expired): the answered exchanges before this job's
 * message, oldest first, at most `length` entries, as Redis would have held them. An exchange
 * is a USER message and the agent's CONVERSATION reply to it (same jobId); a reply may be
 * stored after later USER messages, so the read starts from the newest message.
 */
export async function rebuildHistory(messages: MessagesRepository, job: AgentJob, length: number): Promise<HistoryEntry[]> {
  const answered = new Map<string, Message>();
  const entries: HistoryEntry[] = [];
  let before: number | undefined;
  for (let page = 0; page < MAX_PAGES && entries.length < length; page++) {
    const batch = await messages.list(job.sessionId, { before, limit: PAGE });
    for (const message of batch.toReversed()) {
      if (message.messageType !== "CONVERSATION") continue;
      if (message.role === "AGENT" && message.jobId && message.jobId !== job.jobId) answered.set(message.jobId, message);
      if (message.role !== "USER" || message.createdAt >= job.createdAt) continue;
      const reply = answered.get(message.messageId);
      if (!reply) continue;
      entries.push(entry(reply, "AGENT"), entry(message, "USER"));
      if (entries.length >= length) break;
    }
    if (batch.length < PAGE) break;
    before = batch[0]!.createdAt;
  }
  return entries.slice(0, length).reverse();
}

function entry(message: Message, role: HistoryEntry["role"]): HistoryEntry {
  return { messageId: message.messageId, role, message: message.message, createdAt: message.createdAt };
}

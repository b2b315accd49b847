import type { Turn } from "../chat/turns.ts";

/**
 * What the page's polite live region says: that azuchi is answering, has answered, or could
 * not answer — a failure notice sits in the conversation (role="note", which no screen reader
 * announces by itself), so its text is said here too.
 */
export function announcement(turns: Turn[], answering: boolean, answered: boolean): string {
  const last = turns.at(-1);
  const latest = last?.items.at(-1);
  if (latest?.messageType === "SYSTEM_LOG") return `azuchi could not answer: ${latest.message}`;
  if (answering) return "azuchi is answering.";
  return answered ? "azuchi answered." : "";
}

import type { ChatMessage } from "../chat/protocol.ts";

/** What a reply's badge says: stopped by the user, cut off by the model's limit, or a refusal. */
export type ReplyMark = { status: "stopped" | "cut-off" | "refusal"; label: string; title?: string };

/**
 * The marks of a stored reply, from its `stopped` flag and its payload (`incomplete: "<reason>"`,
 * `refusal: true`, written by the agent's turn): a cut-off reply must never read as a whole answer.
 */
export function replyMarks(message: Pick<ChatMessage, "stopped" | "payload">): ReplyMark[] {
  const payload = (message.payload ?? {}) as { incomplete?: unknown; refusal?: unknown };
  const marks: ReplyMark[] = [];
  if (message.stopped) marks.push({ status: "stopped", label: "Stopped" });
  if (typeof payload.incomplete === "string" && payload.incomplete) {
    marks.push({ status: "cut-off", label: "Cut off", title: payload.incomplete === "max_output_tokens" ? "The reply reached the model's length limit and is incomplete." : `The reply is incomplete (${payload.incomplete}).` });
  }
  if (payload.refusal === true) marks.push({ status: "refusal", label: "Declined", title: "The model declined to answer this request." });
  return marks;
}

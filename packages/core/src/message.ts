import * as z from "zod/mini";
import "./zod-english.ts";

export const MessageRole = z.enum(["USER", "AGENT", "SYSTEM"]);
export type MessageRole = z.infer<typeof MessageRole>;

/**
 * The kinds of message. The list is open: a new kind (EXCEL, WORK_ORDER_PREVIEW, …)
 * is one more entry here, and clients render a kind they do not know as plain text.
 */
export const MessageType = z.enum(["CONVERSATION", "PLAN", "AGENT_LOG", "SYSTEM_LOG"]);
export type MessageType = z.infer<typeof MessageType>;

/** Longest message a user may send, in characters (code points). */
export const MAX_MESSAGE_CHARS = 8_000;

/** A stored message, as the messages table and every frame carry it. */
export const Message = z.object({
  sessionId: z.uuid(),
  /** Epoch milliseconds; the table's sort key, so unique within the session. */
  createdAt: z.int().check(z.nonnegative()),
  messageId: z.uuid(),
  role: MessageRole,
  messageType: MessageType,
  message: z.string(),
  connectionId: z.optional(z.string()),
  /** Structured content, e.g. a PLAN's steps. */
  payload: z.optional(z.unknown()),
  jobId: z.optional(z.string()),
  stopped: z.optional(z.boolean()),
  /** USER messages: when their job reached the queue; absent means the enqueue must be retried. */
  enqueuedAt: z.optional(z.int()),
});
export type Message = z.infer<typeof Message>;

/** Counts characters as people do: an emoji or a kanji is one. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

const INVISIBLE = /[\s\p{Cf}]/gu;

export type MessageTextProblem =
  | { code: "BAD_REQUEST"; message: string }
  | { code: "MESSAGE_TOO_LONG"; message: string; limit: number; length: number };

/**
 * What is wrong with a user's message text, if anything: blank (white space and invisible
 * format characters only), not well-formed Unicode, or over the limit. The WebSocket and the
 * HTTP API refuse the same texts.
 */
export function messageTextProblem(text: string, maxChars = MAX_MESSAGE_CHARS): MessageTextProblem | undefined {
  if (text.replace(INVISIBLE, "").length === 0) return { code: "BAD_REQUEST", message: "The message is empty." };
  // A lone surrogate cannot be stored as UTF-8: it would come back as U+FFFD, not as sent.
  if (!text.isWellFormed()) return { code: "BAD_REQUEST", message: "The message is not valid Unicode text." };
  const length = characterCount(text);
  if (length > maxChars) return { code: "MESSAGE_TOO_LONG", message: `The message is ${length} characters long; the limit is ${maxChars}.`, limit: maxChars, length };
  return undefined;
}

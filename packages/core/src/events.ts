import * as z from "zod/mini";
import "./zod-english.ts";
import { MessageRole, MessageType } from "./message.ts";

export { AGENT_EVENT_SOURCE, CHAT_EVENT_SOURCE } from "./event-sources.ts";

/** Events carry ids and short fields, never whole long texts (PutEvents caps entries at 256 KB). */
export const MessagePostedDetail = z.object({
  sessionId: z.uuid(),
  messageId: z.uuid(),
  createdAt: z.int(),
  role: MessageRole,
  messageType: MessageType,
  jobId: z.optional(z.string()),
});
export type MessagePostedDetail = z.infer<typeof MessagePostedDetail>;

export const AgentRunCompletedDetail = z.object({
  sessionId: z.uuid(),
  jobId: z.string(),
  userId: z.string(),
  durationMs: z.int().check(z.nonnegative()),
  /**
   * Absent, with toolCalls, when the turn finished a reply an earlier attempt had stored and
   * ended before announcing: what that attempt spent and called was not kept.
   */
  usage: z.optional(z.object({ inputTokens: z.int(), outputTokens: z.int() })),
  toolCalls: z.optional(z.array(z.string())),
});
export type AgentRunCompletedDetail = z.infer<typeof AgentRunCompletedDetail>;

export const AgentRunFailedDetail = z.object({
  sessionId: z.uuid(),
  jobId: z.string(),
  reason: z.string().check(z.maxLength(1000)),
  attempt: z.int().check(z.positive()),
  /** True when the job is given up (it goes to the dead-letter queue). */
  final: z.boolean(),
});
export type AgentRunFailedDetail = z.infer<typeof AgentRunFailedDetail>;

export const EventDetails = {
  MessagePosted: MessagePostedDetail,
  AgentRunCompleted: AgentRunCompletedDetail,
  AgentRunFailed: AgentRunFailedDetail,
} as const;
export type EventDetailType = keyof typeof EventDetails;
export type EventDetail<T extends EventDetailType> = z.infer<(typeof EventDetails)[T]>;

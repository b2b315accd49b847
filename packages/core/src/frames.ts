import * as z from "zod/mini";
import "./zod-english.ts";
import { Message } from "./message.ts";

// ---- client → server (route selection is the `action` field) ----

/** The sender's IANA time zone and BCP 47 locale (`Intl.DateTimeFormat().resolvedOptions()`), for the agent's tools. */
const UserClock = {
  timeZone: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  locale: z.optional(z.string().check(z.minLength(1), z.maxLength(35))),
};

export const PutMessageFrame = z.object({
  action: z.literal("putMessage"),
  message: z.string(),
  clientMessageId: z.optional(z.uuid()),
  ...UserClock,
});
export const GetSessionFrame = z.object({
  action: z.literal("getSession"),
  before: z.optional(z.int().check(z.nonnegative())),
  after: z.optional(z.int().check(z.nonnegative())),
  limit: z.optional(z.int().check(z.minimum(1), z.maximum(200))),
});
export const ListSessionsFrame = z.object({
  action: z.literal("listSessions"),
  limit: z.optional(z.int().check(z.minimum(1), z.maximum(100))),
  cursor: z.optional(z.string().check(z.maxLength(2048))),
});
export const StopGenerationFrame = z.object({ action: z.literal("stopGeneration") });
/**
 * Asks the agent to answer a stored USER message of this session again, attempts afresh: a
 * new job on the queue (a new SQS message, so its attempts are counted anew). `retryId` makes
 * a resent frame the same retry.
 */
export const RetryMessageFrame = z.object({
  action: z.literal("retryMessage"),
  messageId: z.uuid(),
  retryId: z.uuid(),
  ...UserClock,
});

/** Renames one of the user's chats (any of them, not only the connection's). */
export const RenameSessionFrame = z.object({
  action: z.literal("renameSession"),
  sessionId: z.uuid(),
  title: z.string().check(z.maxLength(500)),
});
/** Deletes one of the user's chats: its messages, its tabs' subscriptions and the agent's memory of it. */
export const DeleteSessionFrame = z.object({
  action: z.literal("deleteSession"),
  sessionId: z.uuid(),
});

/**
 * Asks for another answer to a USER message of this session: a new job `<messageId>:<regenerateId>`;
 * the answers before it are kept as previous versions. `regenerateId` makes a resent frame the same.
 */
export const RegenerateReplyFrame = z.object({
  action: z.literal("regenerateReply"),
  messageId: z.uuid(),
  regenerateId: z.uuid(),
  ...UserClock,
});

export type PutMessageFrame = z.infer<typeof PutMessageFrame>;
export type RegenerateReplyFrame = z.infer<typeof RegenerateReplyFrame>;
export type RenameSessionFrame = z.infer<typeof RenameSessionFrame>;
export type DeleteSessionFrame = z.infer<typeof DeleteSessionFrame>;
export type GetSessionFrame = z.infer<typeof GetSessionFrame>;
export type ListSessionsFrame = z.infer<typeof ListSessionsFrame>;
export type StopGenerationFrame = z.infer<typeof StopGenerationFrame>;
export type RetryMessageFrame = z.infer<typeof RetryMessageFrame>;

// ---- server → client ----

export const ErrorCode = z.enum(["BAD_REQUEST", "UNKNOWN_ROUTE", "MESSAGE_TOO_LONG", "RATE_LIMITED", "NOT_FOUND", "FORBIDDEN", "INTERNAL"]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const SessionSummary = z.object({
  sessionId: z.uuid(),
  userId: z.string(),
  title: z.string(),
  createdAt: z.int(),
  updatedAt: z.int(),
});
export type SessionSummary = z.infer<typeof SessionSummary>;

export const AckFrame = z.object({
  type: z.literal("ack"),
  clientMessageId: z.optional(z.uuid()),
  messageId: z.uuid(),
  createdAt: z.int(),
  /**
   * putMessage's ack carries the stored USER message itself: the sender's tab gets no `message`
   * frame of its own for it (one PostToConnection a turn fewer). A retry's ack has none.
   */
  message: z.optional(Message),
});
export const MessageFrame = z.object({ type: z.literal("message"), message: Message });
export const DeltaFrame = z.object({
  type: z.literal("delta"),
  messageId: z.uuid(),
  /** Where `delta` starts in the message's text, in JavaScript string units. */
  offset: z.int().check(z.nonnegative()),
  delta: z.string(),
});
export const SessionFrame = z.object({ type: z.literal("session"), session: SessionSummary, messages: z.array(Message) });
export const SessionsFrame = z.object({
  type: z.literal("sessions"),
  sessions: z.array(z.object({ sessionId: z.uuid(), title: z.string(), updatedAt: z.int() })),
  cursor: z.optional(z.string()),
});
export const PartFrame = z.object({
  type: z.literal("part"),
  partId: z.string(),
  index: z.int().check(z.nonnegative()),
  count: z.int().check(z.positive()),
  data: z.string(),
});
export const ErrorFrame = z.looseObject({
  type: z.literal("error"),
  code: ErrorCode,
  message: z.string(),
});

export const SessionListItem = z.object({ sessionId: z.uuid(), title: z.string(), updatedAt: z.int() });
/** Pushed to every connection of the user when one of their chats is titled or renamed. */
export const SessionUpdatedFrame = z.object({ type: z.literal("sessionUpdated"), session: SessionListItem });
/** Pushed to every connection of the user when one of their chats is deleted. */
export const SessionDeletedFrame = z.object({ type: z.literal("sessionDeleted"), sessionId: z.uuid() });

export const ServerFrame = z.discriminatedUnion("type", [AckFrame, MessageFrame, DeltaFrame, SessionFrame, SessionsFrame, PartFrame, ErrorFrame, SessionUpdatedFrame, SessionDeletedFrame]);
export type ServerFrame = z.infer<typeof ServerFrame>;
export type AckFrame = z.infer<typeof AckFrame>;
export type ErrorFrame = z.infer<typeof ErrorFrame>;
export type PartFrame = z.infer<typeof PartFrame>;

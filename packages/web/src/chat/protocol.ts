/**
 * The WebSocket protocol as the browser reads it (docs/architecture.md §5). Types come from the
 * shared contracts in packages/core, and incoming frames are checked with its zod schemas.
 */
// The contracts subpath (zod only), not the package's index: that also exports server code.
import { AckFrame, DeltaFrame, ErrorFrame, Message, PartFrame, SessionDeletedFrame, SessionsFrame, SessionSummary, SessionUpdatedFrame } from "@azuchi/core/contracts";
import type { DeleteSessionFrame, GetSessionFrame, ListSessionsFrame, PutMessageFrame, RegenerateReplyFrame, RenameSessionFrame, RetryMessageFrame, StopGenerationFrame } from "@azuchi/core/contracts";
import * as z from "zod/mini";

/**
 * The shared schemas, loosened only where the contract is open: a message's type and role
 * (the list grows: an unknown type is shown as plain text) and an error's code (a newer
 * server may have more). Zod drops fields it does not know, so newer fields are harmless.
 */
const LenientMessage = z.extend(Message, { messageType: z.string(), role: z.string() });
const LenientErrorFrame = z.extend(ErrorFrame, { code: z.string() });
const LenientFrame = z.discriminatedUnion("type", [
  z.extend(AckFrame, { message: z.optional(LenientMessage) }),
  z.object({ type: z.literal("message"), message: LenientMessage }),
  DeltaFrame,
  z.object({ type: z.literal("session"), session: SessionSummary, messages: z.array(LenientMessage) }),
  SessionsFrame,
  PartFrame,
  LenientErrorFrame,
  SessionUpdatedFrame,
  SessionDeletedFrame,
]);

/** A stored message; `messageType` and `role` may be values newer than this client. */
export type ChatMessage = z.infer<typeof LenientMessage>;
export type SessionInfo = SessionSummary;
export type SessionListItem = z.infer<typeof SessionsFrame>["sessions"][number];
export type ErrorFrameLike = z.infer<typeof LenientErrorFrame>;
export type IncomingFrame = z.infer<typeof LenientFrame>;
export type OutgoingFrame = PutMessageFrame | GetSessionFrame | ListSessionsFrame | StopGenerationFrame | RetryMessageFrame | RenameSessionFrame | DeleteSessionFrame | RegenerateReplyFrame;

/** A frame this client can act on, or undefined for a malformed one or a type it does not know. */
export function parseFrame(value: unknown): IncomingFrame | undefined {
  const parsed = LenientFrame.safeParse(value);
  if (!parsed.success) return undefined;
  const frame = parsed.data;
  if (frame.type === "part" && frame.index >= frame.count) return undefined;
  return frame;
}

/** API Gateway refuses a client frame over 32 KB, and a browser cannot split one. */
export const MAX_CLIENT_FRAME_BYTES = 32 * 1024;

export function frameBytes(frame: OutgoingFrame): number {
  return new TextEncoder().encode(JSON.stringify(frame)).length;
}

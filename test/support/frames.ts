import type { Message, ServerFrame } from "@azuchi/core";

/** A predicate for the `message` frame of a kind of message. */
export const messageFrame =
  (type: Message["messageType"], role?: Message["role"]) =>
  (frame: ServerFrame): frame is Extract<ServerFrame, { type: "message" }> =>
    frame.type === "message" && frame.message.messageType === type && (!role || frame.message.role === role);

/** putMessage's ack of the message with this text: it carries the stored USER message (no `message` frame of it comes to the sender). */
export const ackOf =
  (text: string) =>
  (frame: ServerFrame): frame is Extract<ServerFrame, { type: "ack" }> & { message: Message } =>
    frame.type === "ack" && frame.message?.message === text;

/** The messages of the frames received from a point on, in arrival order. */
export function messagesIn(frames: ServerFrame[], from = 0): Message[] {
  return frames.slice(from).flatMap((frame) => (frame.type === "message" ? [frame.message] : []));
}

/** A frame predicate narrowed further, keeping its type. */
export const where =
  <T extends ServerFrame>(is: (frame: ServerFrame) => frame is T, also: (frame: T) => boolean) =>
  (frame: ServerFrame): frame is T =>
    is(frame) && also(frame);

/**
 * The outbox: the user's messages on their way to the server, one on the wire at a time so
 * they stay in order, each sent again under the same clientMessageId until it is acked (the
 * server keeps one message per clientMessageId, so a resend is at most once).
 */
import type { HumanError } from "../errors.ts";
import type { ErrorFrameLike } from "../protocol.ts";
import { isReady, type ChatState, type Step } from "./model.ts";
import { withNotice, withoutNotice } from "./notices.ts";

export const RATE_LIMIT_RETRY_MS = 1_500;
/** How long a sent message may wait for its ack before it is sent again. */
export const ACK_TIMEOUT_MS = 10_000;
/** The pause before resending a message after an error that did not say which request it answers. */
export const RESEND_AFTER_ERROR_MS = 2_000;

export interface OutgoingMessage {
  clientMessageId: string;
  text: string;
  queuedAt: number;
  /** "sending": on the wire, waiting for its ack; messages go one at a time so they stay in order. */
  status: "queued" | "sending";
}

/** Queues a message the user wrote (already checked against the limits) and sends it when its turn comes. */
export function enqueue(state: ChatState, text: string, clientMessageId: string, now: number): Step {
  return pump({ ...state, outbox: [...state.outbox, { clientMessageId, text, queuedAt: now, status: "queued" }] });
}

/** The notice's Retry: its message joins the queue again, under the clientMessageId it had. */
export function retrySend(state: ChatState, noticeId: string, now: number): Step {
  const notice = state.notices.find((n) => n.id === noticeId);
  if (!notice?.retry) return [state, []];
  return enqueue(withoutNotice(state, notice.id), notice.retry.text, notice.retry.clientMessageId, now);
}

/** Sends the next queued message when the socket is in sync and nothing else awaits its ack. */
export function pump(state: ChatState): Step {
  const next = state.outbox[0];
  if (!next || next.status !== "queued" || !isReady(state)) return [state, []];
  return [
    { ...state, outbox: state.outbox.map((o) => (o === next ? { ...o, status: "sending" as const } : o)) },
    [
      { type: "send", frame: { action: "putMessage", message: next.text, clientMessageId: next.clientMessageId, ...state.clock } },
      { type: "later", timer: "ackTimeout", delayMs: ACK_TIMEOUT_MS },
    ],
  ];
}

/**
 * Puts the message on the wire back at the head of the queue and sends it again after
 * `delayMs`: the server keeps one message per clientMessageId, so a resend is safe when its
 * ack was lost or an error did not say which request it answers.
 */
export function requeueSending(state: ChatState, delayMs: number): Step {
  const sending = state.outbox.find((o) => o.status === "sending");
  if (!sending) return [state, []];
  const outbox = unsent(state.outbox);
  if (delayMs > 0) return [{ ...state, outbox }, [{ type: "cancel", timer: "ackTimeout" }, { type: "later", timer: "pump", delayMs }]];
  const [next, commands] = pump({ ...state, outbox });
  return [next, [{ type: "cancel", timer: "ackTimeout" }, ...commands]];
}

/** Without a socket: what was on the wire without an ack goes again after the reconnect, with the same clientMessageId. */
export function unsent(outbox: OutgoingMessage[]): OutgoingMessage[] {
  return outbox.map((item) => (item.status === "sending" ? { ...item, status: "queued" } : item));
}

/** The server stored a queued message: it leaves the outbox (and a rate limit it waited out is over). */
export function acked(state: ChatState, clientMessageId: string | undefined): { state: ChatState; item: OutgoingMessage } | undefined {
  const item = state.outbox.find((o) => o.clientMessageId === clientMessageId);
  if (!item) return undefined;
  return { item, state: withoutNotice({ ...state, outbox: state.outbox.filter((o) => o !== item) }, "rateLimited") };
}

/** An error about the message on the wire: wait and resend, hand it back to the composer, or undefined when it is not about it. */
export function sendRefused(state: ChatState, frame: ErrorFrameLike, human: HumanError): Step | undefined {
  const sending = state.outbox.find((o) => o.status === "sending");
  if (!sending) return undefined;
  if (frame.code === "RATE_LIMITED") {
    return [withNotice({ ...state, outbox: unsent(state.outbox) }, "rateLimited", human), [{ type: "later", timer: "pump", delayMs: RATE_LIMIT_RETRY_MS }]];
  }
  if (frame.code === "MESSAGE_TOO_LONG" || frame.code === "BAD_REQUEST") {
    // Only one putMessage is on the wire at a time, so this refusal is about it.
    const next = withNotice({ ...state, outbox: state.outbox.filter((o) => o !== sending), returned: { text: sending.text, nonce: state.seq + 1 } }, "refused", human);
    return pump(next);
  }
  if ((frame.code === "INTERNAL" || frame.code === "NOT_FOUND") && frame.clientMessageId === undefined && state.history.pending.length === 0) {
    // An error that names no message, while one is on the wire: it may be about it, so it is
    // sent again in a moment rather than left waiting for an ack that will not come.
    const [next, commands] = requeueSending(state, RESEND_AFTER_ERROR_MS);
    return [withNotice(next, `error:${state.seq + 1}`, human), commands];
  }
  return undefined;
}

/** An error that offers to send a named message again: a notice with Retry, holding its text. */
export function resendOffered(state: ChatState, frame: ErrorFrameLike, human: HumanError): Step | undefined {
  if (human.action !== "retrySend" || typeof frame.clientMessageId !== "string") return undefined;
  const stored = state.messages.find((m) => m.messageId === frame.messageId);
  const text = stored?.message ?? state.outbox.find((o) => o.clientMessageId === frame.clientMessageId)?.text;
  return text === undefined ? undefined : [withNotice(state, `retry:${frame.clientMessageId}`, human, { clientMessageId: frame.clientMessageId, text }), []];
}

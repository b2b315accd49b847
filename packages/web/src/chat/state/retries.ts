/**
 * Retries: the agent asked to answer a USER message again, after it gave up (`retryMessage`) or
 * for another answer (`regenerateReply`); one at a time per message, until the new attempt
 * begins (state.ts's mergeMessages sees its first message arrive).
 */
import { describeError } from "../errors.ts";
import type { ErrorFrameLike, OutgoingFrame } from "../protocol.ts";
import { isReady, type ChatState, type Step } from "./model.ts";
import { withNotice } from "./notices.ts";

/**
 * A Retry of a message the agent gave up on: "sending" until the server acks it, "queued"
 * after; it ends when the new attempt's first notice or the answer arrives.
 */
export interface PendingRetry {
  retryId: string;
  status: "sending" | "queued";
  /** A regeneration's job (`<messageId>:<regenerateId>`): it has begun once any message of it arrives. */
  jobId?: string;
}

/** Retry: the agent answers a given-up USER message again. */
export function retryMessage(state: ChatState, messageId: string, retryId: string): Step {
  return ask(state, messageId, { retryId, status: "sending" }, { action: "retryMessage", messageId, retryId, ...state.clock });
}

/** Another answer to a USER message; the answers before it stay. */
export function regenerateReply(state: ChatState, messageId: string, regenerateId: string): Step {
  const jobId = `${messageId}:${regenerateId}`;
  return ask(state, messageId, { retryId: regenerateId, status: "sending", jobId }, { action: "regenerateReply", messageId, regenerateId, ...state.clock });
}

function ask(state: ChatState, messageId: string, retry: PendingRetry, frame: OutgoingFrame): Step {
  if (!isReady(state) || state.retries[messageId]) return [state, []];
  return [{ ...state, retries: { ...state.retries, [messageId]: retry } }, [{ type: "send", frame }]];
}

/** The ack of a retry (its retryId comes back as the clientMessageId), or undefined when it acks something else. */
export function retryAcked(state: ChatState, clientMessageId: string | undefined): Step | undefined {
  const retried = Object.entries(state.retries).find(([, retry]) => retry.retryId === clientMessageId);
  if (!retried) return undefined;
  return [{ ...state, retries: { ...state.retries, [retried[0]]: { ...retried[1], status: "queued" } } }, []];
}

/** A retry the server refused: it ends, with a notice under its message; undefined when the error names no retry of ours. */
export function retryRefused(state: ChatState, frame: ErrorFrameLike): Step | undefined {
  const retried = typeof frame.retryId === "string" ? Object.entries(state.retries).find(([, retry]) => retry.retryId === frame.retryId) : undefined;
  if (!retried) return undefined;
  const { [retried[0]]: _refused, ...retries } = state.retries;
  return [withNotice({ ...state, retries }, `retry:${retried[0]}`, frame.code === "RATE_LIMITED" ? { text: "Too many messages just now; press Retry again in a moment." } : describeError(frame)), []];
}

/** Without a socket: a Retry not yet acked may not have reached the server, so it is offered again (a retry of an answered job posts nothing). */
export function acknowledgedOnly(retries: ChatState["retries"]): ChatState["retries"] {
  return Object.fromEntries(Object.entries(retries).filter(([, retry]) => retry.status === "queued"));
}

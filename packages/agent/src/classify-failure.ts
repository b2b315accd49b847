import { InvalidJobError } from "@azuchi/core";
import type { notices } from "./notices.ts";
import { LockLostError, ModelCallError, ReceivesExhaustedError, SessionBusyError, TurnFailedError } from "./turn-errors.ts";

/** The final model failures the user is told about in their own words (notices.ts `modelFailed`). */
export type ToldFailure = keyof (typeof notices)["modelFailed"]["en"];

/**
 * What the consumer does with a failed record:
 * - `lock-lost`: another holder has the session (or the lock vanished); not this job's failure,
 *   nothing to tell or count; retried at once (a redelivery finishes what is stored).
 * - `busy`: the session is locked; retried once the lock has expired, nothing to tell.
 * - `retryable`: counted as a failed attempt and retried; `silent` when the user already saw
 *   the reply (only the turn's memory write is missing), so no "retrying" notice.
 * - `final`: no retry can mend it; given up to the dead-letter queue at once.
 * `reason` is for ops (logs, AgentRunFailed, the dead letter's attribute); `retryAfterMs` is the
 * least the retry must wait (a model's retry-after); `tell` says which notice explains a final
 * model failure to the user.
 */
export type FailureClass =
  | { kind: "lock-lost"; reason: string }
  | { kind: "busy"; reason: string; retryAfterMs: number }
  | { kind: "retryable"; reason: string; silent: boolean; retryAfterMs?: number }
  | { kind: "final"; reason: string; silent: boolean; tell?: ToldFailure };

/**
 * The one place a turn's failure is judged (pure: no I/O, no clock). Errors that are not the
 * turn's own (Redis down, DynamoDB errors, the model's) are retryable unless listed as final
 * here; a model client's errors (rate limits and 5xx retryable, quota or unknown model final)
 * get their rules here too.
 */
export function classifyFailure(error: unknown): FailureClass {
  const silent = error instanceof TurnFailedError && error.replyStored;
  const root = error instanceof TurnFailedError ? error.cause : error;
  const reason = describeError(root);
  if (root instanceof LockLostError) return { kind: "lock-lost", reason };
  if (root instanceof SessionBusyError) return { kind: "busy", reason, retryAfterMs: root.retryAfterMs };
  if (root instanceof ReceivesExhaustedError || root instanceof InvalidJobError) return { kind: "final", reason, silent };
  if (root instanceof ModelCallError) {
    if (root.final) return { kind: "final", reason, silent, tell: root.kind as ToldFailure };
    return root.retryAfterMs === undefined ? { kind: "retryable", reason, silent } : { kind: "retryable", reason, silent, retryAfterMs: root.retryAfterMs };
  }
  // Everything else — a deadline, Redis or DynamoDB down, a bug's error — may pass.
  return { kind: "retryable", reason, silent };
}

/** The reason for ops: the error and what caused it. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.name}: ${error.cause.message})` : "";
  return `${error.name}: ${error.message}${cause}`;
}

/**
 * What can go wrong in one agent turn, as one family of errors. The consumer turns any of them
 * (and any other error) into one decision through classifyFailure (classify-failure.ts), so a
 * lost lock, say, is treated the same wherever it is detected.
 */
export class TurnError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Another turn holds the session's lock: this job must wait, it has not failed. */
export class SessionBusyError extends TurnError {
  /** How long the lock holds at most: retrying sooner would only find it busy again. */
  readonly retryAfterMs: number;
  constructor(sessionId: string, retryAfterMs: number) {
    super(`session ${sessionId} is locked by another turn; the job will be retried`);
    this.retryAfterMs = retryAfterMs;
  }
}

/** Where a lost lock was noticed; they mean the same thing, and only the logs tell them apart. */
export type LockLossSeen = "heartbeat" | "unrenewed" | "fenced-write";

/** The session's lock passed to another holder (or vanished): this turn must write nothing more. */
export class LockLostError extends TurnError {
  readonly seen: LockLossSeen;
  constructor(sessionId: string, seen: LockLossSeen) {
    super(`the lock of session ${sessionId} was lost (${seen}); the turn wrote nothing`);
    this.seen = seen;
  }
}

/** The turn ran out of its time (the turn timeout, or the Lambda's deadline less a margin). */
export class TurnDeadlineError extends TurnError {
  constructor() {
    super("the turn ran out of time");
  }
}

/** The user asked to stop; the turn handles it itself (it keeps what it wrote, marked stopped). */
export class TurnStoppedError extends TurnError {
  readonly requestedAt: number;
  constructor(requestedAt: number) {
    super(`the user stopped the turn (request at ${requestedAt})`);
    this.requestedAt = requestedAt;
  }
}

/**
 * The job has been received as often as the queue allows, less the one receive kept for giving
 * it up: earlier receives crashed, timed out or failed without being counted.
 */
export class ReceivesExhaustedError extends TurnError {
  readonly receives: number;
  constructor(receives: number) {
    super(`the job was received ${receives} times without being answered (crashes, timeouts or failures that could not be counted)`);
    this.receives = receives;
  }
}

/**
 * A turn that failed after it began, wrapping why. It carries which attempt it was and whether
 * its reply was already stored (so shown, or shown on a reload and by the retry): then only the
 * turn's memory is missing, and the user must not be told the agent failed.
 */
export class TurnFailedError extends TurnError {
  readonly attempt: number;
  readonly replyStored: boolean;
  constructor(attempt: number, cause: unknown, options: { replyStored?: boolean } = {}) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.attempt = attempt;
    this.replyStored = options.replyStored ?? false;
  }
}

/**
 * How a model call failed, as the consumer and the user need it. The retryable ones pass with
 * time (a rate limit, the service overloaded or unreachable, a stream cut by the server); the
 * final ones need someone to act (billing, the configured model, the request itself).
 */
export const MODEL_FAILURES = {
  "rate-limited": { final: false, ops: "rate limited by the model's API; retried after its retry-after" },
  overloaded: { final: false, ops: "the model's API failed on its side (5xx or server_error); retried" },
  unreachable: { final: false, ops: "the model's API could not be reached or timed out; retried" },
  "stream-failed": { final: false, ops: "the model's stream failed or ended without a final response; retried" },
  quota: { final: true, ops: "insufficient_quota: the API key's billing or quota is used up; add credit or raise the project's limit" },
  "model-not-found": { final: true, ops: "model_not_found: AZUCHI_OPENAI_MODEL names a model this key or endpoint does not offer" },
  "too-large": { final: true, ops: "the request is larger than the model's API accepts" },
  "context-too-long": { final: true, ops: "context_length_exceeded even with the context rebuilt from a capped history" },
  rejected: { final: true, ops: "the model's API refused the request (invalid request, key or permission); fix the configuration" },
  "too-many-steps": { final: true, ops: "the model was still calling tools after AZUCHI_MAX_MODEL_STEPS model calls; a retry would loop the same way" },
} as const;
export type ModelFailureKind = keyof typeof MODEL_FAILURES;

/** A model call that failed, classified once where the OpenAI client's error is caught (model-errors.ts). */
export class ModelCallError extends TurnError {
  readonly kind: ModelFailureKind;
  /** OpenAI's error code (`insufficient_quota`, `server_error`, …) when it gave one. */
  readonly code: string | undefined;
  /** The HTTP status; undefined for a failure inside the stream or before any answer. */
  readonly status: number | undefined;
  /** How long the API asked us to wait (retry-after), for the job's retry delay. */
  readonly retryAfterMs: number | undefined;
  constructor(kind: ModelFailureKind, detail: { code?: string; status?: number; retryAfterMs?: number; message: string }, options?: ErrorOptions) {
    super(`${MODEL_FAILURES[kind].ops} (${[detail.status, detail.code].filter(Boolean).join(" ") || "no code"}: ${detail.message})`, options);
    this.kind = kind;
    this.code = detail.code;
    this.status = detail.status;
    this.retryAfterMs = detail.retryAfterMs;
  }

  get final(): boolean {
    return MODEL_FAILURES[this.kind].final;
  }
}

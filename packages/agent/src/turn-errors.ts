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

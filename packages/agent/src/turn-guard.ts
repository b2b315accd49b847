import { stopAppliesTo } from "@azuchi/core";
import type { SessionLock, SessionLocks } from "./session-lock.ts";
import { LockLostError, TurnDeadlineError, TurnStoppedError, type TurnError } from "./turn-errors.ts";

export interface TurnGuardOptions {
  /** How often the lock is renewed and the stop flag read (AZUCHI_HEARTBEAT_MS); a stop takes effect within this. */
  intervalMs: number;
  /** When the turn's USER message was stored: a stop requested before then is not for this turn. */
  messageCreatedAt: number;
  onError?: (error: unknown) => void;
}

/**
 * Watches a running turn: renews its lock and reads the stop flag in one Redis call every
 * interval, and aborts the turn's work (the OpenAI request included, through `signal`)
 * when the user stops it, when the lock is found lost, or when its time is up.
 */
export class TurnGuard {
  private readonly controller = new AbortController();
  private readonly locks: SessionLocks;
  private readonly lock: SessionLock;
  private readonly intervalMs: number;
  private readonly messageCreatedAt: number;
  private readonly onError: (error: unknown) => void;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private lastHeldAt = Date.now();
  private wake: (() => void) | undefined;
  /** Why the turn was aborted, once it was. */
  abortedBy: TurnError | undefined;
  heartbeats = 0;

  constructor(locks: SessionLocks, lock: SessionLock, options: TurnGuardOptions) {
    this.locks = locks;
    this.lock = lock;
    this.intervalMs = options.intervalMs;
    this.messageCreatedAt = options.messageCreatedAt;
    this.onError = options.onError ?? (() => undefined);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  start(deadlineAt: number): void {
    this.running = true;
    this.deadlineTimer = setTimeout(() => this.abort(new TurnDeadlineError()), Math.max(0, deadlineAt - Date.now()));
    this.loop = this.watch();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.deadlineTimer);
    this.wake?.();
    await this.loop;
  }

  throwIfAborted(): void {
    if (this.abortedBy) throw this.abortedBy;
  }

  private abort(error: TurnError): void {
    if (this.abortedBy) return;
    this.abortedBy = error;
    this.controller.abort(error);
  }

  private async watch(): Promise<void> {
    while (this.running && !this.abortedBy) {
      // A stopped guard must not keep the turn waiting for the rest of an interval.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.intervalMs);
        this.wake = () => (clearTimeout(timer), resolve());
      });
      if (!this.running || this.abortedBy) return;
      try {
        const beat = await this.locks.heartbeat(this.lock);
        this.heartbeats++;
        if (!beat.held) return this.abort(new LockLostError(this.lock.sessionId, "heartbeat"));
        this.lastHeldAt = Date.now();
        if (beat.stopRequestedAt !== undefined && stopAppliesTo(beat.stopRequestedAt, this.messageCreatedAt)) {
          return this.abort(new TurnStoppedError(beat.stopRequestedAt));
        }
      } catch (error) {
        this.onError(error);
        // Unrenewed for most of its lifetime, the lock may have passed to another turn.
        if (Date.now() - this.lastHeldAt > this.locks.ttlMs * (5 / 6)) return this.abort(new LockLostError(this.lock.sessionId, "unrenewed"));
      }
    }
  }
}

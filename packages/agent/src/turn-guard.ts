import { LOCK_TTL_MS, type SessionLock } from "./session-lock.ts";
import type { TurnState } from "./turn-state.ts";

export type AbortReason = "stopped" | "lock-lost" | "deadline";

export class TurnAbortedError extends Error {
  readonly reason: AbortReason;
  constructor(reason: AbortReason) {
    super(`turn aborted: ${reason}`);
    this.name = "TurnAbortedError";
    this.reason = reason;
  }
}

export interface TurnGuardOptions {
  /** How often the lock is renewed and the stop flag read; a stop takes effect within this. */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Watches a running turn: renews its lock and reads the stop flag in one Redis call every
 * interval, and aborts the turn's work (the OpenAI request included, through `signal`)
 * when the user stops it, when the lock is found lost, or when its time is up.
 */
export class TurnGuard {
  private readonly controller = new AbortController();
  private readonly state: TurnState;
  private readonly lock: SessionLock;
  private readonly startedAt: number;
  private readonly intervalMs: number;
  private readonly onError: (error: unknown) => void;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private lastHeldAt = Date.now();
  private wake: (() => void) | undefined;
  reason: AbortReason | undefined;
  /** The stop request this turn obeyed. */
  stopRequestedAt: number | undefined;
  heartbeats = 0;

  constructor(state: TurnState, lock: SessionLock, startedAt: number, options: TurnGuardOptions = {}) {
    this.state = state;
    this.lock = lock;
    this.startedAt = startedAt;
    this.intervalMs = options.intervalMs ?? 500;
    this.onError = options.onError ?? (() => undefined);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  start(deadlineAt: number): void {
    this.running = true;
    this.deadlineTimer = setTimeout(() => this.abort("deadline"), Math.max(0, deadlineAt - Date.now()));
    this.loop = this.watch();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.deadlineTimer);
    this.wake?.();
    await this.loop;
  }

  throwIfAborted(): void {
    if (this.reason) throw new TurnAbortedError(this.reason);
  }

  private abort(reason: AbortReason): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller.abort(new TurnAbortedError(reason));
  }

  private async watch(): Promise<void> {
    while (this.running && !this.reason) {
      // A stopped guard must not keep the turn waiting for the rest of an interval.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.intervalMs);
        this.wake = () => (clearTimeout(timer), resolve());
      });
      if (!this.running || this.reason) return;
      try {
        const beat = await this.state.heartbeat(this.lock);
        this.heartbeats++;
        if (!beat.held) return this.abort("lock-lost");
        this.lastHeldAt = Date.now();
        // A stop requested before this turn began was meant for an earlier one.
        if (beat.stopRequestedAt !== undefined && beat.stopRequestedAt >= this.startedAt) {
          this.stopRequestedAt = beat.stopRequestedAt;
          return this.abort("stopped");
        }
      } catch (error) {
        this.onError(error);
        // Unrenewed for most of its lifetime, the lock may have passed to another turn.
        if (Date.now() - this.lastHeldAt > LOCK_TTL_MS - 5_000) return this.abort("lock-lost");
      }
    }
  }
}

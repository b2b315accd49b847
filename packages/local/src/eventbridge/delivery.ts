import type { EventBridgeEvent } from "aws-lambda";

export type EventTarget = (event: EventBridgeEvent<string, unknown>) => Promise<void>;

export interface DeliveryOptions {
  maxAttempts: number;
  /** The wait before the second attempt; each later wait doubles it. */
  retryBaseDelayMs: number;
  onError: (error: unknown, event: EventBridgeEvent<string, unknown>) => void;
}

/** A target that kept failing until its attempts ran out. */
export class DeliveryFailedError extends Error {
  constructor(ruleName: string, attempts: number, cause: unknown, note?: string) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`rule ${ruleName}: delivery failed after ${attempts} attempt(s): ${reason}${note === undefined ? "" : ` (${note})`}`, { cause });
    this.name = "DeliveryFailedError";
  }
}

/**
 * Delivers events to rule targets asynchronously and at least once, retrying a
 * failing target with exponential backoff, as EventBridge does (within a much
 * shorter budget locally).
 */
export class Deliveries {
  private readonly options: DeliveryOptions;
  private readonly pending = new Set<Promise<void>>();
  /** Wakes the backoff waits early when the emulator closes. */
  private readonly wakers = new Set<() => void>();
  private closing = false;

  constructor(options: DeliveryOptions) {
    this.options = options;
  }

  deliver(ruleName: string, target: EventTarget, event: EventBridgeEvent<string, unknown>): void {
    const delivery = this.attempt(ruleName, target, event);
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  /** Resolves when every delivery started so far (with its retries) has finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Lets running target calls finish and abandons the retries still waiting (reported through onError). */
  async close(): Promise<void> {
    this.closing = true;
    for (const wake of this.wakers) wake();
    await this.idle();
  }

  private async attempt(ruleName: string, target: EventTarget, event: EventBridgeEvent<string, unknown>): Promise<void> {
    // PutEvents answers before any target runs.
    await new Promise((resolve) => setImmediate(resolve));
    for (let attempt = 1; ; attempt++) {
      try {
        // A fresh copy per attempt: what a failed attempt changed must not reach the next.
        await target(structuredClone(event));
        return;
      } catch (error) {
        if (attempt >= this.options.maxAttempts) return this.options.onError(new DeliveryFailedError(ruleName, attempt, error), event);
        await this.wait(this.options.retryBaseDelayMs * 2 ** (attempt - 1));
        if (this.closing) return this.options.onError(new DeliveryFailedError(ruleName, attempt, error, "the emulator closed before the next retry"), event);
      }
    }
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}

/** Sessions remembered at most; past this, entries the wall clock has overtaken are dropped. */
const MAX_SESSIONS = 10_000;

/**
 * Hands out the milliseconds one repository instance writes messages at, per session:
 * each one after the last it handed out. Writes issued by one instance (one Lambda, one
 * process) therefore never race each other for a millisecond, and they are placed in the
 * order they were issued even when they share one. Writers in other instances can still
 * take the same millisecond: the conditional put catches that and moves on (§2).
 * Forgetting an entry is always safe; it only makes such a clash possible.
 */
export class MessageClock {
  private readonly last = new Map<string, number>();

  /** The millisecond to try first: `wanted`, or the first one after those already handed out. */
  next(sessionId: string, wanted: number): number {
    const previous = this.last.get(sessionId);
    const at = previous === undefined || wanted > previous ? wanted : previous + 1;
    this.remember(sessionId, at);
    return at;
  }

  /** A write ended up at `at` (after a clash): later ones go after it. */
  observe(sessionId: string, at: number): void {
    const previous = this.last.get(sessionId);
    if (previous === undefined || at > previous) this.remember(sessionId, at);
  }

  private remember(sessionId: string, at: number): void {
    this.last.delete(sessionId);
    this.last.set(sessionId, at);
    if (this.last.size <= MAX_SESSIONS) return;
    const overtaken = Date.now();
    for (const [id, value] of this.last) if (value < overtaken) this.last.delete(id);
    // Still full of future times (callers passing far-future createdAt): forget the oldest.
    for (const id of this.last.keys()) {
      if (this.last.size <= MAX_SESSIONS) break;
      this.last.delete(id);
    }
  }
}

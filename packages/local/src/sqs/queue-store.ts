import { invalidParameterValue, queueDoesNotExist, queueNameExists } from "./errors.ts";
import { applyAttributes, defaultSettings, settingsToAttributes } from "./queue-attributes.ts";
import type { PersistedState } from "./persisted-state.ts";
import { Queue } from "./queue.ts";
import type { DeadLetterMover } from "./queue.ts";
import { QueueJournal } from "./queue-journal.ts";

export interface MoveTask {
  taskHandle: string;
  sourceArn: string;
  destinationArn: string | undefined;
  moved: number;
  toMove: number;
  startedAt: number;
  failureReason: string | undefined;
  /** Set when the task was cancelled (CancelMessageMoveTask) before it moved everything. */
  cancelled?: boolean;
}

export interface QueueStoreOptions {
  region: string;
  accountId: string;
  /** Milliseconds since the epoch, default Date.now; injectable so tests can pass the deduplication window. */
  now?: () => number;
}

const namePattern = /^[A-Za-z0-9_-]{1,80}$/;
// With an injected clock, long polls re-check this often: it may jump (tests move it), so no
// timer can be set for the moment a message becomes visible by it.
const injectedClockRecheckMs = 100;

/** Every queue of the emulator by name, plus what crosses queues: redrive and waking long polls. */
export class QueueStore {
  readonly region: string;
  readonly accountId: string;
  readonly now: () => number;
  private readonly queues = new Map<string, Queue>();
  private readonly waiters = new Map<Queue, Set<() => void>>();
  /** The longest a long poll sleeps before it looks again when nothing wakes it. */
  private readonly recheckMs: number;
  /** StartMessageMoveTask's finished tasks, newest last (a running one is in move-tasks.ts until it ends). */
  readonly moveTasks: MoveTask[] = [];
  // 20-digit sequence numbers, increasing across the emulator as SQS's do within a group.
  private sequence = 10n ** 19n;
  private closed = false;
  /** Where changes are kept when the emulator has a data folder. */
  private journal: QueueJournal | undefined;

  constructor(options: QueueStoreOptions) {
    this.region = options.region;
    this.accountId = options.accountId;
    this.now = options.now ?? Date.now;
    // On the real clock a long poll sleeps until its deadline or the queue's next change (a
    // delay or a visibility timeout running out): every other change wakes it through notify().
    this.recheckMs = options.now === undefined ? Infinity : injectedClockRecheckMs;
  }

  arnOf(name: string): string {
    return `arn:aws:sqs:${this.region}:${this.accountId}:${name}`;
  }

  /** Creates the queue, or returns the existing one when every given attribute matches it. */
  create(name: string, attributes: Record<string, string>): Queue {
    const fifo = attributes.FifoQueue?.toLowerCase() === "true";
    const baseName = fifo ? name.slice(0, -".fifo".length) : name;
    if (typeof name !== "string" || name.length > 80 || fifo !== name.endsWith(".fifo") || !namePattern.test(baseName)) {
      throw invalidParameterValue(
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length. A FIFO queue name must end with .fifo and needs FifoQueue=true.",
      );
    }
    const lookupDeadLetterTarget = (arn: string) => this.byArn(arn);
    const settings = applyAttributes(defaultSettings(fifo), attributes, { creating: true, lookupDeadLetterTarget });
    const existing = this.queues.get(name);
    if (existing !== undefined) {
      const wanted = settingsToAttributes(settings);
      const actual = settingsToAttributes(existing.settings);
      for (const attribute of Object.keys(attributes)) {
        if (attribute !== "FifoQueue" && wanted[attribute] !== actual[attribute]) throw queueNameExists(attribute);
      }
      return existing;
    }
    const queue = this.newQueue(name, settings);
    this.queues.set(name, queue);
    this.recordQueue(queue);
    return queue;
  }

  get(name: string): Queue {
    const queue = this.queues.get(name);
    if (queue === undefined) throw queueDoesNotExist();
    return queue;
  }

  byArn(arn: string): Queue | undefined {
    const prefix = this.arnOf("");
    return arn.startsWith(prefix) ? this.queues.get(arn.slice(prefix.length)) : undefined;
  }

  list(prefix = ""): Queue[] {
    return [...this.queues.values()].filter((queue) => queue.name.startsWith(prefix));
  }

  setAttributes(queue: Queue, attributes: Record<string, string>): void {
    queue.settings = applyAttributes(queue.settings, attributes, {
      creating: false,
      lookupDeadLetterTarget: (arn) => this.byArn(arn),
    });
    queue.lastModifiedAt = this.now();
    this.recordQueue(queue);
    this.notify(queue);
  }

  delete(queue: Queue): void {
    this.queues.delete(queue.name);
    this.journal?.record({ op: "dropQueue", name: queue.name });
    this.notify(queue);
  }

  addMoveTask(task: MoveTask): void {
    this.moveTasks.push(task);
    this.journal?.record({ op: "moveTask", task });
  }

  /**
   * Keeps the queues in `dir` from now on, starting from what is kept there. Messages that were
   * in flight when the emulator stopped are visible again: whoever received them is gone.
   */
  async persistTo(dir: string): Promise<void> {
    this.journal = await QueueJournal.open(dir, (state) => {
      this.restore(state);
      return () => this.state();
    });
  }

  /** Resolves once every change so far is kept (at once without a data folder); the server answers after it. */
  commit(): Promise<void> {
    return this.journal?.commit() ?? Promise.resolve();
  }

  /** Writes what is left to the data folder. */
  async closeJournal(): Promise<void> {
    await this.journal?.close();
  }

  /** Moves a message of `source` to its redrive target; the target's long polls wake. */
  deadLetterMover(source: Queue): DeadLetterMover {
    return (message) => {
      const arn = source.settings.redrivePolicy?.deadLetterTargetArn;
      const target = arn === undefined ? undefined : this.byArn(arn);
      if (target === undefined) return false;
      target.acceptDeadLetter(message, source.arn, this.now());
      this.notify(target);
      return true;
    };
  }

  /** Wakes the long polls waiting on the queue: something may now be receivable. */
  notify(queue: Queue): void {
    for (const wake of this.waiters.get(queue) ?? []) wake();
  }

  /**
   * Resolves when the queue changes, when a delayed or in-flight message may have become
   * visible, at `deadline` (real time, ms), when `signal` aborts or when the store closes.
   */
  async waitForChange(queue: Queue, deadline: number, signal: AbortSignal): Promise<void> {
    if (this.closed || signal.aborted) return;
    const now = this.now();
    const nextChange = queue.nextChangeAt(now);
    const delay = Math.max(1, Math.min(deadline - Date.now(), this.recheckMs, nextChange === undefined ? Infinity : nextChange - now));
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", wake);
        this.waiters.get(queue)?.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, delay);
      signal.addEventListener("abort", wake);
      if (!this.waiters.has(queue)) this.waiters.set(queue, new Set());
      this.waiters.get(queue)!.add(wake);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Ends every long poll now. */
  close(): void {
    this.closed = true;
    for (const queue of this.waiters.keys()) this.notify(queue);
  }

  private newQueue(name: string, settings: Queue["settings"], restored?: ConstructorParameters<typeof Queue>[0]["restored"]): Queue {
    return new Queue({
      name,
      arn: this.arnOf(name),
      settings,
      now: this.now(),
      nextSequenceNumber: () => this.nextSequenceNumber(),
      record: (change) => this.journal?.record(change),
      restored,
    });
  }

  private recordQueue(queue: Queue): void {
    this.journal?.record({ op: "queue", name: queue.name, createdAt: queue.createdAt, lastModifiedAt: queue.lastModifiedAt, settings: queue.settings });
  }

  private restore(state: PersistedState): void {
    for (const { name, settings, ...restored } of state.queues) {
      const queue = this.newQueue(name, settings, restored);
      queue.releaseInFlight();
      this.queues.set(name, queue);
    }
    this.moveTasks.push(...state.moveTasks);
    if (BigInt(state.sequence) > this.sequence) this.sequence = BigInt(state.sequence);
  }

  private state(): PersistedState {
    return {
      sequence: this.sequence.toString(),
      queues: [...this.queues.values()].map((queue) => ({
        name: queue.name,
        createdAt: queue.createdAt,
        lastModifiedAt: queue.lastModifiedAt,
        settings: queue.settings,
        ...queue.contents(),
      })),
      moveTasks: this.moveTasks,
    };
  }

  private nextSequenceNumber(): string {
    this.sequence += 1n;
    return this.sequence.toString().padStart(20, "0");
  }
}

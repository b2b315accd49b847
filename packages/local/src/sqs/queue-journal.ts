import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { z } from "zod";
import { applyRecord, emptyState, journalRecordSchema, serialize, snapshotSchema } from "./persisted-state.ts";
import type { JournalRecord, PersistedState } from "./persisted-state.ts";

/** The data folder holds a file the emulator cannot read: it refuses to start rather than lose queues. */
export class QueueDataCorruptError extends Error {
  constructor(file: string, detail: string) {
    super(`SQS emulator data in ${file} cannot be read (${detail}); move the folder away to start with empty queues`);
    this.name = "QueueDataCorruptError";
  }
}

/** A write to the data folder failed; the emulator answers 500 from then on rather than acknowledge what it may not keep. */
export class QueueJournalWriteError extends Error {
  constructor(cause: unknown) {
    super(`the SQS emulator could not write its journal: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "QueueJournalWriteError";
  }
}

const snapshotFile = "snapshot.json";
const journalFile = (generation: number) => `journal-${generation}.log`;
/** Past this the next commit writes a snapshot and starts a new journal, so a restart replays little. */
const compactAfterBytes = 8 * 1024 * 1024;

/**
 * Makes the emulator's changes durable before it answers. Every change is a JSON line appended
 * to journal-<generation>.log; `commit()` writes the lines gathered so far and fdatasyncs them,
 * and the server answers a request only after its commit, so a SendMessage or DeleteMessage
 * that got 200 survives kill -9. Requests that arrive while a write is under way share the next
 * one (group commit). A torn last line (killed mid-write) was never acknowledged and is dropped.
 * Now and then, and at every start, the whole state goes to snapshot.json (written aside,
 * fsynced, renamed over, the folder fsynced) and a new journal begins.
 */
export class QueueJournal {
  private pending: string[] = [];
  private writing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private failure: QueueJournalWriteError | undefined;
  private journalBytes = 0;
  private readonly dir: string;
  private generation: number;
  private file: FileHandle;
  /** The store's current state, for a snapshot. */
  private readonly capture: () => PersistedState;

  private constructor(dir: string, generation: number, file: FileHandle, capture: () => PersistedState) {
    this.dir = dir;
    this.generation = generation;
    this.file = file;
    this.capture = capture;
  }

  /**
   * Reads the state kept in `dir` (empty when there is none). `start` builds the store from it
   * and returns the function that captures the store's state; the journal then writes a fresh
   * snapshot of it (the store may have changed it, e.g. released messages in flight).
   */
  static async open(dir: string, start: (state: PersistedState) => () => PersistedState): Promise<QueueJournal> {
    mkdirSync(dir, { recursive: true });
    const { state, generation } = readState(dir);
    const capture = start(state);
    const file = await open(join(dir, journalFile(generation)), "a");
    const journal = new QueueJournal(dir, generation, file, capture);
    await journal.compact(journal.snapshotText());
    return journal;
  }

  /** Queues a change for the next commit; the line is made now, so later mutation cannot alter it. */
  record(change: JournalRecord): void {
    this.pending.push(`${serialize(change)}\n`);
  }

  /** Resolves once every change recorded so far is on disk. */
  commit(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending.length === 0) return this.queued ?? this.writing ?? Promise.resolve();
    this.queued ??= (this.writing ?? Promise.resolve()).catch(() => undefined).then(() => {
      this.queued = undefined;
      this.writing = this.writeBatch();
      return this.writing;
    });
    return this.queued;
  }

  /** Writes what is left and closes the journal. */
  async close(): Promise<void> {
    await this.commit().catch(() => undefined);
    await this.file.close();
  }

  private async writeBatch(): Promise<void> {
    if (this.failure) throw this.failure;
    const lines = this.pending.join("");
    this.pending = [];
    try {
      if (this.journalBytes + Buffer.byteLength(lines) > compactAfterBytes) {
        // Taken now, with every change recorded so far applied, so the new journal starts empty.
        await this.compact(this.snapshotText());
      } else {
        await writeAll(this.file, lines);
        await this.file.datasync();
        this.journalBytes += Buffer.byteLength(lines);
      }
    } catch (error) {
      this.failure = new QueueJournalWriteError(error);
      throw this.failure;
    }
  }

  /** The state now, as the next generation's snapshot; serialized at once, before anything can change it. */
  private snapshotText(): string {
    return serialize({ version: 1, generation: this.generation + 1, ...this.capture() });
  }

  private async compact(text: string): Promise<void> {
    const next = this.generation + 1;
    const temporary = join(this.dir, `${snapshotFile}.tmp`);
    const handle = await open(temporary, "w");
    try {
      await writeAll(handle, text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    const nextFile = await open(join(this.dir, journalFile(next)), "a");
    await rename(temporary, join(this.dir, snapshotFile));
    await syncFolder(this.dir);
    // From the rename on, the snapshot names journal `next`; the old journal is dead.
    await this.file.close();
    await rm(join(this.dir, journalFile(this.generation)), { force: true });
    this.file = nextFile;
    this.generation = next;
    this.journalBytes = 0;
  }
}

/** One write call may write less than asked; a line left short with more after it would read as corruption. */
async function writeAll(handle: FileHandle, text: string): Promise<void> {
  const bytes = Buffer.from(text, "utf8");
  for (let offset = 0; offset < bytes.length;) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The snapshot plus its journal; other journals (left by a crash during a snapshot) are removed. */
function readState(dir: string): { state: PersistedState; generation: number } {
  let state = emptyState();
  let generation = 0;
  const snapshotPath = join(dir, snapshotFile);
  const snapshotText = readIfExists(snapshotPath);
  if (snapshotText !== undefined) {
    const parsed = parseJson(snapshotText, snapshotSchema);
    if (!parsed.success) throw new QueueDataCorruptError(snapshotPath, parsed.error);
    const { sequence, queues, moveTasks } = parsed.data;
    state = { sequence, queues, moveTasks };
    generation = parsed.data.generation;
  }
  for (const name of readdirSync(dir)) {
    if ((/^journal-\d+\.log$/.test(name) && name !== journalFile(generation)) || name === `${snapshotFile}.tmp`) {
      rmSync(join(dir, name), { force: true });
    }
  }
  const journalPath = join(dir, journalFile(generation));
  const lines = (readIfExists(journalPath) ?? "").split("\n");
  // After the last newline: a write cut short, never acknowledged.
  lines.pop();
  lines.forEach((line, index) => {
    const parsed = parseJson(line, journalRecordSchema);
    if (!parsed.success) throw new QueueDataCorruptError(journalPath, `line ${index + 1}: ${parsed.error}`);
    applyRecord(state, parsed.data);
  });
  return { state, generation };
}

function parseJson<T>(text: string, schema: z.ZodType<T>): { success: true; data: T } | { success: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { success: false, error: error instanceof Error ? error.message : String(error) };
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed : { success: false, error: parsed.error.message };
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

import * as z from "zod";
import type { QueueSettings } from "./queue-attributes.ts";
import type { DeduplicationEntry, MessageChange, StoredMessage } from "./queue.ts";
import type { MoveTask } from "./queue-store.ts";

/**
 * The emulator's state as the data folder keeps it: a snapshot (queues with their messages,
 * deduplication ids, the sequence counter, move tasks) and journal records, each a change made
 * after the snapshot. Records say what a thing now is ("message m is this", "message m is
 * gone"), never what was done, so replaying them needs no clock and no randomness.
 */

/** Written with `undefined` as null (JSON would drop the key), read back as undefined. */
const optional = <T extends z.ZodType>(schema: T) => schema.nullable().transform((value) => value ?? undefined);

const wireAttributes = z.record(z.string(), z.object({
  DataType: z.string(),
  StringValue: z.string().optional(),
  BinaryValue: z.string().optional(),
}));

const storedMessage = z.object({
  messageId: z.string(),
  body: z.string(),
  messageAttributes: wireAttributes,
  systemAttributes: wireAttributes,
  groupId: optional(z.string()),
  deduplicationId: optional(z.string()),
  sequenceNumber: optional(z.string()),
  senderId: z.string(),
  sentTimestamp: z.number(),
  enqueuedAt: z.number(),
  delayedUntil: z.number(),
  receiveCount: z.number().int(),
  firstReceiveTimestamp: optional(z.number()),
  receiptToken: optional(z.string()),
  invisibleUntil: z.number(),
  deadLetterSourceArn: optional(z.string()),
}) satisfies z.ZodType<StoredMessage>;

const deduplicationEntry = z.object({
  messageId: z.string(),
  sequenceNumber: optional(z.string()),
  expiresAt: z.number(),
}) satisfies z.ZodType<DeduplicationEntry>;

const queueSettings = z.object({
  fifo: z.boolean(),
  contentBasedDeduplication: z.boolean(),
  visibilityTimeout: z.number(),
  messageRetentionPeriod: z.number(),
  delaySeconds: z.number(),
  maximumMessageSize: z.number(),
  receiveMessageWaitTimeSeconds: z.number(),
  redrivePolicy: optional(z.object({ deadLetterTargetArn: z.string(), maxReceiveCount: z.number().int() })),
  deduplicationScope: z.enum(["queue", "messageGroup"]),
  fifoThroughputLimit: z.enum(["perQueue", "perMessageGroupId"]),
  opaque: z.record(z.string(), z.string()),
}) satisfies z.ZodType<QueueSettings>;

const moveTask = z.object({
  taskHandle: z.string(),
  sourceArn: z.string(),
  destinationArn: optional(z.string()),
  moved: z.number(),
  toMove: z.number(),
  startedAt: z.number(),
  failureReason: optional(z.string()),
  cancelled: z.boolean().optional(),
}) satisfies z.ZodType<MoveTask>;

const queueHeader = { name: z.string(), createdAt: z.number(), lastModifiedAt: z.number(), settings: queueSettings };

const persistedQueue = z.object({
  ...queueHeader,
  messages: z.array(storedMessage),
  deduplication: z.array(z.tuple([z.string(), deduplicationEntry])),
});

export const snapshotSchema = z.object({
  version: z.literal(1),
  /** Names the journal that continues this snapshot: journal-<generation>.log. */
  generation: z.number().int().nonnegative(),
  /** The last sequence number handed out, as a decimal string (it exceeds 2^53). */
  sequence: z.string().regex(/^\d+$/),
  queues: z.array(persistedQueue),
  moveTasks: z.array(moveTask),
});

export const journalRecordSchema = z.discriminatedUnion("op", [
  z.object({ op: z.literal("queue"), ...queueHeader }),
  z.object({ op: z.literal("dropQueue"), name: z.string() }),
  z.object({ op: z.literal("put"), queue: z.string(), message: storedMessage }),
  z.object({ op: z.literal("remove"), queue: z.string(), messageId: z.string() }),
  z.object({ op: z.literal("dedup"), queue: z.string(), key: z.string(), entry: deduplicationEntry }),
  z.object({ op: z.literal("moveTask"), task: moveTask }),
]);

export type PersistedQueue = z.output<typeof persistedQueue>;
export type Snapshot = z.output<typeof snapshotSchema>;
export type PersistedState = Omit<Snapshot, "version" | "generation">;
/** A queue created or its attributes set; a queue deleted; a move task run; or a change to its messages. */
export type JournalRecord =
  | { op: "queue"; name: string; createdAt: number; lastModifiedAt: number; settings: QueueSettings }
  | { op: "dropQueue"; name: string }
  | { op: "moveTask"; task: MoveTask }
  | MessageChange;

/** One JSON line; undefined fields become null so the schema can require every key. */
export function serialize(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (item === undefined ? null : item));
}

export const emptyState = (): PersistedState => ({ sequence: "0", queues: [], moveTasks: [] });

/** Applies one journal record to the state read so far. */
export function applyRecord(state: PersistedState, record: JournalRecord): void {
  const queue = "queue" in record ? state.queues.find((candidate) => candidate.name === record.queue) : undefined;
  switch (record.op) {
    case "queue": {
      const existing = state.queues.find((candidate) => candidate.name === record.name);
      const header = { name: record.name, createdAt: record.createdAt, lastModifiedAt: record.lastModifiedAt, settings: record.settings };
      if (existing === undefined) state.queues.push({ ...header, messages: [], deduplication: [] });
      else Object.assign(existing, header);
      return;
    }
    case "dropQueue":
      state.queues = state.queues.filter((candidate) => candidate.name !== record.name);
      return;
    case "moveTask":
      state.moveTasks.push(record.task);
      return;
    case "put": {
      if (queue === undefined) return;
      // A message keeps its place in the queue: FIFO order is the order of first puts.
      const index = queue.messages.findIndex((message) => message.messageId === record.message.messageId);
      if (index === -1) queue.messages.push(record.message);
      else queue.messages[index] = record.message;
      state.sequence = maxSequence(state.sequence, record.message.sequenceNumber);
      return;
    }
    case "remove":
      if (queue !== undefined) queue.messages = queue.messages.filter((message) => message.messageId !== record.messageId);
      return;
    case "dedup": {
      if (queue === undefined) return;
      queue.deduplication = queue.deduplication.filter(([key]) => key !== record.key);
      queue.deduplication.push([record.key, record.entry]);
      return;
    }
  }
}

function maxSequence(current: string, candidate: string | undefined): string {
  return candidate !== undefined && BigInt(candidate) > BigInt(current) ? candidate : current;
}

import { randomUUID } from "node:crypto";
import { invalidParameterValue, messageNotInflight, receiptHandleExpired } from "./errors.ts";
import type { WireMessageAttributes } from "./message-attributes.ts";
import type { QueueSettings } from "./queue-attributes.ts";
import { decodeReceiptHandle, encodeReceiptHandle } from "./receipt-handle.ts";

export interface StoredMessage {
  messageId: string;
  body: string;
  messageAttributes: WireMessageAttributes;
  systemAttributes: WireMessageAttributes;
  groupId: string | undefined;
  deduplicationId: string | undefined;
  sequenceNumber: string | undefined;
  senderId: string;
  sentTimestamp: number;
  /** Start of the retention period. */
  enqueuedAt: number;
  delayedUntil: number;
  receiveCount: number;
  firstReceiveTimestamp: number | undefined;
  /** Token of the latest receive; a receipt handle is valid only while it matches. */
  receiptToken: string | undefined;
  invisibleUntil: number;
  deadLetterSourceArn: string | undefined;
}

export interface NewMessage {
  body: string;
  messageAttributes: WireMessageAttributes;
  systemAttributes: WireMessageAttributes;
  groupId: string | undefined;
  deduplicationId: string | undefined;
  delaySeconds: number;
  senderId: string;
}

export interface SendOutcome {
  messageId: string;
  sequenceNumber: string | undefined;
}

export interface Received {
  message: StoredMessage;
  receiptHandle: string;
}

/** Moves a message to the queue's dead-letter queue; false when the target is gone. */
export type DeadLetterMover = (message: StoredMessage) => boolean;

/** A send's deduplication id as remembered for the 5-minute window. */
export interface DeduplicationEntry extends SendOutcome {
  expiresAt: number;
}

/**
 * What changed in a queue, as the journal keeps it: a message as it now is, a message gone, a
 * deduplication id remembered. Reported at the moment of change, so the journal copies the
 * state before anything else mutates it.
 */
export type MessageChange =
  | { op: "put"; queue: string; message: StoredMessage }
  | { op: "remove"; queue: string; messageId: string }
  | { op: "dedup"; queue: string; key: string; entry: DeduplicationEntry };

/** A queue's messages and deduplication ids as the journal restores them. */
export interface QueueContents {
  messages: StoredMessage[];
  deduplication: [string, DeduplicationEntry][];
}

const deduplicationWindowMs = 5 * 60 * 1000;

/**
 * One queue's messages and the rules for handing them out: FIFO group ordering and blocking,
 * visibility timeouts, deduplication, redrive and retention. Time comes from `now` so tests can
 * move it; nothing here waits.
 */
export class Queue {
  readonly name: string;
  readonly arn: string;
  readonly createdAt: number;
  settings: QueueSettings;
  lastModifiedAt: number;
  private readonly messages: StoredMessage[];
  private readonly deduplication: Map<string, DeduplicationEntry>;
  private readonly nextSequenceNumber: () => string;
  private readonly record: (change: MessageChange) => void;

  constructor(options: {
    name: string;
    arn: string;
    settings: QueueSettings;
    now: number;
    nextSequenceNumber: () => string;
    /** Told of every change to messages and deduplication ids (the store's journal). */
    record?: (change: MessageChange) => void;
    /** Restored from the data folder: created earlier, with these contents. */
    restored?: QueueContents & { createdAt: number; lastModifiedAt: number };
  }) {
    this.name = options.name;
    this.arn = options.arn;
    this.settings = options.settings;
    this.createdAt = options.restored?.createdAt ?? options.now;
    this.lastModifiedAt = options.restored?.lastModifiedAt ?? options.now;
    this.nextSequenceNumber = options.nextSequenceNumber;
    this.record = options.record ?? (() => undefined);
    this.messages = options.restored?.messages ?? [];
    this.deduplication = new Map(options.restored?.deduplication ?? []);
  }

  /** The contents, for a snapshot of the store. */
  contents(): QueueContents {
    return { messages: this.messages, deduplication: [...this.deduplication] };
  }

  /**
   * After a restart: the consumers that held messages are gone, so every message in flight
   * becomes visible again at once, its receive count kept; the old receipt handles stop working.
   */
  releaseInFlight(): void {
    for (const message of this.messages) {
      if (message.receiptToken === undefined) continue;
      message.receiptToken = undefined;
      message.invisibleUntil = 0;
      this.put(message);
    }
  }

  get fifo(): boolean {
    return this.settings.fifo;
  }

  /** Adds a message, or on FIFO returns the earlier one's ids when its deduplication id was seen within 5 minutes. */
  send(input: NewMessage, now: number): SendOutcome {
    this.dropExpired(now);
    const key = this.deduplicationKey(input);
    if (key !== undefined) {
      const seen = this.deduplication.get(key);
      if (seen !== undefined && seen.expiresAt > now) return { messageId: seen.messageId, sequenceNumber: seen.sequenceNumber };
    }
    const message: StoredMessage = {
      ...input,
      messageId: randomUUID(),
      sequenceNumber: this.fifo ? this.nextSequenceNumber() : undefined,
      sentTimestamp: now,
      enqueuedAt: now,
      delayedUntil: now + input.delaySeconds * 1000,
      receiveCount: 0,
      firstReceiveTimestamp: undefined,
      receiptToken: undefined,
      invisibleUntil: 0,
      deadLetterSourceArn: undefined,
    };
    this.messages.push(message);
    this.put(message);
    const outcome = { messageId: message.messageId, sequenceNumber: message.sequenceNumber };
    if (key !== undefined) {
      const entry = { ...outcome, expiresAt: now + deduplicationWindowMs };
      this.deduplication.set(key, entry);
      this.record({ op: "dedup", queue: this.name, key, entry });
    }
    return outcome;
  }

  /**
   * Takes a message moved here by a source queue's redrive. It keeps its MessageId, body,
   * attributes and group; on FIFO its deduplication id becomes its MessageId, as SQS documents,
   * so two messages that shared a deduplication id can both be kept.
   */
  acceptDeadLetter(message: StoredMessage, sourceArn: string, now: number): void {
    const accepted: StoredMessage = {
      ...message,
      deduplicationId: this.fifo ? message.messageId : message.deduplicationId,
      sequenceNumber: this.fifo ? this.nextSequenceNumber() : message.sequenceNumber,
      // FIFO dead-letter queues restart the retention period; standard ones keep the original.
      enqueuedAt: this.fifo ? now : message.enqueuedAt,
      delayedUntil: now,
      receiptToken: undefined,
      invisibleUntil: 0,
      deadLetterSourceArn: sourceArn,
    };
    this.messages.push(accepted);
    this.put(accepted);
  }

  /**
   * Hands out up to `max` messages and makes them invisible for `visibilityTimeout` seconds.
   * A message already received maxReceiveCount times goes to the dead-letter queue instead.
   */
  receive(max: number, visibilityTimeout: number, now: number, moveToDeadLetter: DeadLetterMover): Received[] {
    this.dropExpired(now);
    const chosen = this.fifo ? this.chooseFifo(max, now, moveToDeadLetter) : this.chooseStandard(max, now, moveToDeadLetter);
    return chosen.map((message) => {
      message.receiveCount += 1;
      message.firstReceiveTimestamp ??= now;
      message.receiptToken = randomUUID();
      message.invisibleUntil = now + visibilityTimeout * 1000;
      this.put(message);
      return { message, receiptHandle: encodeReceiptHandle(this.name, message.messageId, message.receiptToken) };
    });
  }

  delete(receiptHandle: string, now: number): void {
    const { messageId, token } = decodeReceiptHandle(receiptHandle, this.name);
    const index = this.messages.findIndex((message) => message.messageId === messageId);
    // Deleting a message that is already gone succeeds, as on SQS.
    if (index === -1) return;
    const message = this.messages[index]!;
    if (this.fifo && (message.receiptToken !== token || !isInFlight(message, now))) throw receiptHandleExpired(receiptHandle);
    this.remove(message);
  }

  changeVisibility(receiptHandle: string, visibilityTimeout: number, now: number): void {
    const { messageId, token } = decodeReceiptHandle(receiptHandle, this.name);
    if (!Number.isInteger(visibilityTimeout) || visibilityTimeout < 0 || visibilityTimeout > 43_200) {
      throw invalidParameterValue(`Value ${visibilityTimeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.`);
    }
    const message = this.messages.find((candidate) => candidate.messageId === messageId);
    if (this.fifo && (message === undefined || message.receiptToken !== token || !isInFlight(message, now))) {
      throw receiptHandleExpired(receiptHandle);
    }
    if (message === undefined || !isInFlight(message, now)) throw messageNotInflight();
    message.invisibleUntil = now + visibilityTimeout * 1000;
    this.put(message);
  }

  /**
   * Removes and returns the messages `movable` accepts, oldest first, for a message move task;
   * it sees every message, in flight or not (a FIFO group waits behind one in flight), and an
   * in-flight message is never taken.
   */
  takeForMove(now: number, movable: (message: StoredMessage, inFlight: boolean) => boolean): StoredMessage[] {
    this.dropExpired(now);
    const taken = this.messages.filter((message) => {
      const inFlight = isInFlight(message, now);
      return movable(message, inFlight) && !inFlight;
    });
    for (const message of taken) this.remove(message);
    return taken;
  }

  purge(): void {
    for (const message of [...this.messages]) this.remove(message);
  }

  counts(now: number): { visible: number; inFlight: number; delayed: number } {
    this.dropExpired(now);
    let inFlight = 0;
    let delayed = 0;
    for (const message of this.messages) {
      if (isInFlight(message, now)) inFlight += 1;
      else if (message.delayedUntil > now) delayed += 1;
    }
    return { visible: this.messages.length - inFlight - delayed, inFlight, delayed };
  }

  /** The earliest future moment at which a message may become receivable, for long polls to wake. */
  nextChangeAt(now: number): number | undefined {
    let next: number | undefined;
    for (const message of this.messages) {
      const at = isInFlight(message, now) ? message.invisibleUntil : message.delayedUntil > now ? message.delayedUntil : undefined;
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  /**
   * FIFO order: groups by their oldest message; within a group, messages in send order from its
   * head. A group with a message in flight is skipped entirely, so nothing later in it is seen
   * before the in-flight one is deleted or returns. Several messages of one group come first,
   * then other groups fill the rest.
   */
  private chooseFifo(max: number, now: number, moveToDeadLetter: DeadLetterMover): StoredMessage[] {
    const groups = new Map<string, StoredMessage[]>();
    const blocked = new Set<string>();
    for (const message of this.messages) {
      const group = message.groupId ?? "";
      if (isInFlight(message, now)) blocked.add(group);
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group)!.push(message);
    }
    const chosen: StoredMessage[] = [];
    for (const [group, messages] of groups) {
      if (blocked.has(group)) continue;
      for (const message of messages) {
        if (chosen.length === max) return chosen;
        if (message.delayedUntil > now) break;
        if (this.redrives(message, moveToDeadLetter)) continue;
        chosen.push(message);
      }
    }
    return chosen;
  }

  private chooseStandard(max: number, now: number, moveToDeadLetter: DeadLetterMover): StoredMessage[] {
    const chosen: StoredMessage[] = [];
    for (const message of [...this.messages]) {
      if (chosen.length === max) break;
      if (isInFlight(message, now) || message.delayedUntil > now) continue;
      if (this.redrives(message, moveToDeadLetter)) continue;
      chosen.push(message);
    }
    return chosen;
  }

  /** Moves the message to the dead-letter queue if it would otherwise exceed maxReceiveCount. */
  private redrives(message: StoredMessage, moveToDeadLetter: DeadLetterMover): boolean {
    const policy = this.settings.redrivePolicy;
    if (policy === undefined || message.receiveCount < policy.maxReceiveCount) return false;
    if (!moveToDeadLetter(message)) return false;
    this.remove(message);
    return true;
  }

  private deduplicationKey(input: NewMessage): string | undefined {
    if (!this.fifo || input.deduplicationId === undefined) return undefined;
    return this.settings.deduplicationScope === "messageGroup" ? `${input.groupId}\u0000${input.deduplicationId}` : input.deduplicationId;
  }

  private dropExpired(now: number): void {
    const retentionMs = this.settings.messageRetentionPeriod * 1000;
    for (let i = this.messages.length - 1; i >= 0; i -= 1) {
      if (this.messages[i]!.enqueuedAt + retentionMs <= now) this.remove(this.messages[i]!);
    }
    // Not journalled: a restored entry past its window is dropped here again. Every entry gets
    // the same window as it is made (an id used again was dropped here first, so it goes in
    // anew, last), so the oldest come first and the walk stops at the first one still live: it
    // walked all of them, some 12,000 at 40 sends a second, on every call. send checks an
    // entry's expiry all the same.
    for (const [key, seen] of this.deduplication) {
      if (seen.expiresAt > now) break;
      this.deduplication.delete(key);
    }
  }

  private put(message: StoredMessage): void {
    this.record({ op: "put", queue: this.name, message });
  }

  private remove(message: StoredMessage): void {
    this.messages.splice(this.messages.indexOf(message), 1);
    this.record({ op: "remove", queue: this.name, messageId: message.messageId });
  }
}

function isInFlight(message: StoredMessage, now: number): boolean {
  return message.receiptToken !== undefined && message.invisibleUntil > now;
}

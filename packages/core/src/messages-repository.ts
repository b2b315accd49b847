import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { MessageClock } from "./message-clock.ts";
import { MessageGuards } from "./message-guard.ts";
import { Message } from "./message.ts";
import type { Tables } from "./resources.ts";
import { SessionTouches } from "./session-touches.ts";

/** Same-millisecond clashes are rare; this many in a row means something is wrong. */
const MAX_CLASHES = 100;
/** How far past its first millisecond a message can have moved (a replay searches this far). */
const MAX_DRIFT_MS = 60_000;

/**
 * The next millisecond to try after a clash with another instance's write: the first clash
 * moves 1 ms forward; further ones spread out (four times wider each time, up to a second)
 * so instances racing for the same milliseconds stop colliding with each other. The
 * instance's MessageClock then moves it past what the instance itself has handed out.
 */
function nextCandidate(current: number, clash: number): number {
  return current + 1 + Math.floor(Math.random() * Math.min(4 ** clash, 1024));
}

export interface StoredMessage {
  message: Message;
  /** False when this messageId was already stored: a replay wrote nothing new. */
  created: boolean;
}

export interface PutOptions {
  /**
   * The createdAt of a message this one must sort after (its cause: the agent's messages
   * come after the USER message of their job, even if that one was moved forward by a
   * clash or written by a machine whose clock runs ahead).
   */
  after?: number;
  /**
   * Default true: the session's summary (`updatedAt`, `messageCount`) is updated before put()
   * returns. False leaves that to the caller, who counts the messages it stored and calls
   * touchSession() once for all of them (an agent turn: one update instead of one per message).
   */
  touch?: boolean;
}

export class MessageStoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MessageStoreError";
  }
}

/**
 * The one way messages are written, by chat and agent alike (docs/architecture.md §2).
 * No overwrite: a message only takes a free (sessionId, createdAt) slot, moving forward
 * on a clash. No duplicate: the messageIds guard remembers each messageId and where it
 * went, so a replay finds its message instead of writing a second one. Only conditional
 * puts, because dynalite (the local DynamoDB) has no transactions.
 *
 * Order: a session's messages are ordered by createdAt, which is unique in the session,
 * so every reader sees one total order. One instance hands out its milliseconds in the
 * order its writes are issued (MessageClock): writes it issues one after another keep
 * that order even within one millisecond, and concurrent ones never clash with each
 * other; a clash with another instance's write moves the later one forward.
 */
export class MessagesRepository {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tables: Tables;
  private readonly guards: MessageGuards;
  private readonly clock = new MessageClock();
  private readonly touches: SessionTouches;

  constructor(doc: DynamoDBDocumentClient, tables: Tables) {
    this.doc = doc;
    this.tables = tables;
    this.guards = new MessageGuards(doc, tables.messageIds, async (sessionId, createdAt, messageId) => {
      return (await this.get(sessionId, createdAt))?.messageId === messageId;
    });
    this.touches = new SessionTouches(doc, tables.sessions);
  }

  /**
   * Stores a message once. `input.createdAt` is the earliest millisecond it may take; the
   * stored message (returned) has the createdAt it got.
   */
  async put(input: Message, options: PutOptions = {}): Promise<StoredMessage> {
    const message = Message.parse(input);
    const wanted = options.after === undefined ? message.createdAt : Math.max(message.createdAt, options.after + 1);
    // Taken before the first await, so this instance's writes are placed in the order they were issued.
    const first = this.clock.next(message.sessionId, wanted);
    const claim = await this.guards.claim(message.messageId, message.sessionId, first);
    if (claim.kind === "stored") {
      const stored = await this.get(message.sessionId, claim.createdAt);
      if (stored?.messageId === message.messageId) return { message: stored, created: false };
      throw new MessageStoreError(`message ${message.messageId} is recorded as stored but is not in the session`);
    }
    if (claim.kind === "takeover") {
      // The earlier writer stopped after the guard; it may have put the message before stopping.
      const earlier = await this.findFrom(message.sessionId, message.messageId, claim.createdAt);
      if (earlier) {
        await this.guards.markStored(message.messageId, claim.owner, earlier.createdAt);
        return { message: earlier, created: false };
      }
    }
    let createdAt = claim.createdAt;
    for (let clash = 0; clash < MAX_CLASHES; clash++) {
      const candidate = { ...message, createdAt };
      try {
        await this.doc.send(
          new PutCommand({ TableName: this.tables.messages, Item: candidate, ConditionExpression: "attribute_not_exists(createdAt)" }),
        );
        // The guard already says where a write that took its first millisecond is.
        if (createdAt !== claim.createdAt || claim.kind === "takeover") {
          this.clock.observe(message.sessionId, createdAt);
          await this.guards.markStored(message.messageId, claim.owner, createdAt);
        }
        if (options.touch !== false) await this.touches.touch(message.sessionId, createdAt);
        return { message: candidate, created: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
      createdAt = this.clock.next(message.sessionId, nextCandidate(createdAt, clash));
    }
    throw new MessageStoreError(`no free millisecond for message ${message.messageId} after ${MAX_CLASHES} tries`);
  }

  /**
   * Updates the session's summary for `count` messages stored with `touch: false`, the latest at
   * `latest`. True when they were the session's first (SessionTouches).
   */
  async touchSession(sessionId: string, latest: number, count: number): Promise<boolean> {
    return count > 0 ? this.touches.touch(sessionId, latest, count) : false;
  }

  async get(sessionId: string, createdAt: number): Promise<Message | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tables.messages, Key: { sessionId, createdAt }, ConsistentRead: true }),
    );
    return Item ? Message.parse(Item) : undefined;
  }

  /** Where a messageId was stored, if it was. */
  async findById(messageId: string): Promise<Message | undefined> {
    const at = await this.guards.location(messageId);
    if (!at) return undefined;
    const stored = await this.get(at.sessionId, at.createdAt);
    return stored?.messageId === messageId ? stored : undefined;
  }

  /**
   * Messages oldest first: by default the newest `limit`; `before` pages back from a
   * createdAt; `after` gives what came later (a reconnecting tab's gap).
   */
  async list(sessionId: string, options: { before?: number; after?: number; limit?: number } = {}): Promise<Message[]> {
    const limit = options.limit ?? 50;
    const forward = options.after !== undefined && options.before === undefined;
    const conditions = ["sessionId = :sessionId"];
    const values: Record<string, unknown> = { ":sessionId": sessionId };
    if (options.after !== undefined && options.before !== undefined) {
      // Nothing lies strictly between them (and DynamoDB refuses a BETWEEN that runs backwards).
      if (options.before - options.after < 2) return [];
      conditions.push("createdAt BETWEEN :after AND :before");
      values[":after"] = options.after + 1;
      values[":before"] = options.before - 1;
    } else if (options.after !== undefined) {
      conditions.push("createdAt > :after");
      values[":after"] = options.after;
    } else if (options.before !== undefined) {
      conditions.push("createdAt < :before");
      values[":before"] = options.before;
    }
    const items: Message[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tables.messages,
          KeyConditionExpression: conditions.join(" AND "),
          ExpressionAttributeValues: values,
          ScanIndexForward: forward,
          Limit: limit - items.length,
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      for (const item of page.Items ?? []) items.push(Message.parse(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey && items.length < limit);
    return forward ? items : items.reverse();
  }

  /** The session's first message of a role (e.g. its first USER message, for a title). */
  async first(sessionId: string, role: Message["role"]): Promise<Message | undefined> {
    return this.firstMatching({
      KeyConditionExpression: "sessionId = :sessionId",
      FilterExpression: "#role = :role",
      ExpressionAttributeNames: { "#role": "role" },
      ExpressionAttributeValues: { ":sessionId": sessionId, ":role": role },
      ScanIndexForward: true,
      Limit: 20,
    });
  }

  /** The message with this id at or after a millisecond, within the drift a clash can cause. */
  private async findFrom(sessionId: string, messageId: string, from: number): Promise<Message | undefined> {
    return this.firstMatching({
      KeyConditionExpression: "sessionId = :sessionId AND createdAt BETWEEN :from AND :to",
      FilterExpression: "messageId = :messageId",
      ExpressionAttributeValues: { ":sessionId": sessionId, ":from": from, ":to": from + MAX_DRIFT_MS, ":messageId": messageId },
    });
  }

  /** The first message a filtered query finds, paging on while pages come back filtered empty. */
  private async firstMatching(query: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey" | "ConsistentRead">): Promise<Message | undefined> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({ ...query, TableName: this.tables.messages, ExclusiveStartKey: startKey, ConsistentRead: true }));
      const found = page.Items?.[0];
      if (found) return Message.parse(found);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return undefined;
  }

  /**
   * Deletes every message of a session (a deleted chat), 25 per BatchWriteItem, sending again
   * what DynamoDB left unprocessed. Their messageId guards are left to their TTL. Returns how
   * many were deleted.
   */
  async deleteSession(sessionId: string): Promise<number> {
    let deleted = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tables.messages,
          KeyConditionExpression: "sessionId = :sessionId",
          ExpressionAttributeValues: { ":sessionId": sessionId },
          ProjectionExpression: "sessionId, createdAt",
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      const keys = (page.Items ?? []).map((item) => ({ sessionId, createdAt: item.createdAt as number }));
      for (let i = 0; i < keys.length; i += 25) {
        let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
        for (let round = 0; requests.length > 0; round++) {
          if (round === 8) throw new MessageStoreError(`DynamoDB left ${requests.length} deletes of session ${sessionId} unprocessed`);
          if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
          const result = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tables.messages]: requests } }));
          requests = (result.UnprocessedItems?.[this.tables.messages] ?? []) as typeof requests;
        }
      }
      deleted += keys.length;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return deleted;
  }

  /** Records that a USER message's job reached the queue. */
  async markEnqueued(sessionId: string, createdAt: number, enqueuedAt: number): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tables.messages,
        Key: { sessionId, createdAt },
        UpdateExpression: "SET enqueuedAt = :enqueuedAt",
        ConditionExpression: "attribute_exists(createdAt)",
        ExpressionAttributeValues: { ":enqueuedAt": enqueuedAt },
      }),
    );
  }
}

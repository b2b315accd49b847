import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { MessageGuards } from "./message-guard.ts";
import { Message } from "./message.ts";
import type { Tables } from "./resources.ts";

/** Same-millisecond clashes are rare; this many in a row means something is wrong. */
const MAX_CLASHES = 100;
/** How far past its first millisecond a message can have moved (a replay searches this far). */
const MAX_DRIFT_MS = 60_000;

/**
 * The next millisecond to try after a clash: the first clash moves 1 ms forward; further
 * ones spread out (four times wider each time, up to a second) so many writers racing for one millisecond stop
 * colliding with each other.
 */
function nextCandidate(current: number, clash: number): number {
  return current + 1 + Math.floor(Math.random() * Math.min(4 ** clash, 1024));
}

export interface StoredMessage {
  message: Message;
  /** False when this messageId was already stored: a replay wrote nothing new. */
  created: boolean;
}

export class MessageStoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MessageStoreError";
  }
}

/**
 * The one way messages are written, by chat and agent alike (ARCHITECTURE.md §2).
 * No overwrite: a message only takes a free (sessionId, createdAt) slot, moving forward
 * on a clash. No duplicate: the messageIds guard remembers each messageId and where it
 * went, so a replay finds its message instead of writing a second one. Only conditional
 * puts, because dynalite (the local DynamoDB) has no transactions.
 */
export class MessagesRepository {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tables: Tables;
  private readonly guards: MessageGuards;

  constructor(doc: DynamoDBDocumentClient, tables: Tables) {
    this.doc = doc;
    this.tables = tables;
    this.guards = new MessageGuards(doc, tables.messageIds);
  }

  async put(input: Message): Promise<StoredMessage> {
    const message = Message.parse(input);
    const claim = await this.guards.claim(message.messageId, message.sessionId, message.createdAt);
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
        await this.guards.markStored(message.messageId, claim.owner, createdAt);
        await this.touchSession(message.sessionId, createdAt);
        return { message: candidate, created: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
      createdAt = nextCandidate(createdAt, clash);
    }
    throw new MessageStoreError(`no free millisecond for message ${message.messageId} after ${MAX_CLASHES} tries`);
  }

  async get(sessionId: string, createdAt: number): Promise<Message | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tables.messages, Key: { sessionId, createdAt }, ConsistentRead: true }),
    );
    return Item ? Message.parse(Item) : undefined;
  }

  /** Where a messageId was stored, if it was. */
  async findById(messageId: string): Promise<Message | undefined> {
    const at = await this.guards.storedAt(messageId);
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

  /** The message with this id at or after a millisecond, within the drift a clash can cause. */
  private async findFrom(sessionId: string, messageId: string, from: number): Promise<Message | undefined> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tables.messages,
          KeyConditionExpression: "sessionId = :sessionId AND createdAt BETWEEN :from AND :to",
          FilterExpression: "messageId = :messageId",
          ExpressionAttributeValues: { ":sessionId": sessionId, ":from": from, ":to": from + MAX_DRIFT_MS, ":messageId": messageId },
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      const found = page.Items?.[0];
      if (found) return Message.parse(found);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return undefined;
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

  private async touchSession(sessionId: string, createdAt: number): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tables.sessions,
        Key: { sessionId },
        UpdateExpression: "SET updatedAt = :createdAt ADD messageCount :one",
        ConditionExpression: "attribute_exists(sessionId)",
        ExpressionAttributeValues: { ":createdAt": createdAt, ":one": 1 },
      }),
    ).catch((error: unknown) => {
      // A message of a deleted session is still kept; only the summary is not updated.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    });
  }
}

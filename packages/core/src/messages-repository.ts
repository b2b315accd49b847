import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Message } from "./message.ts";
import type { Tables } from "./resources.ts";

/** How long a messageId guard blocks replays: longer than SQS keeps a job (14 days at most). */
const GUARD_TTL_SECONDS = 15 * 24 * 3600;
/** Same-millisecond clashes are rare; a thousand in a row means something is wrong. */
const MAX_CLASHES = 1_000;

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
 * No overwrite: a message only takes a free (sessionId, createdAt) slot, moving 1 ms
 * forward on a clash. No duplicate: the messageIds guard remembers where a messageId
 * went, so a replay finds its message instead of writing a second one. Both are
 * conditional puts, because dynalite (the local DynamoDB) has no transactions.
 */
export class MessagesRepository {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tables: Tables;

  constructor(doc: DynamoDBDocumentClient, tables: Tables) {
    this.doc = doc;
    this.tables = tables;
  }

  async put(input: Message): Promise<StoredMessage> {
    const message = Message.parse(input);
    let createdAt = await this.claimGuard(message);
    for (let clash = 0; clash < MAX_CLASHES; clash++) {
      const candidate = { ...message, createdAt };
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tables.messages,
            Item: candidate,
            ConditionExpression: "attribute_not_exists(createdAt)",
          }),
        );
        await this.touchSession(message.sessionId, createdAt);
        return { message: candidate, created: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
      const occupant = await this.get(message.sessionId, createdAt);
      if (occupant?.messageId === message.messageId) return { message: occupant, created: false };
      // Another message holds this millisecond: take the next one and move the guard with us.
      createdAt += 1;
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.messageIds,
          Key: { messageId: message.messageId },
          UpdateExpression: "SET createdAt = :createdAt",
          ExpressionAttributeValues: { ":createdAt": createdAt },
        }),
      );
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
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tables.messageIds, Key: { messageId }, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const stored = await this.get(String(Item.sessionId), Number(Item.createdAt));
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

  private async claimGuard(message: Message): Promise<number> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tables.messageIds,
          Item: {
            messageId: message.messageId,
            sessionId: message.sessionId,
            createdAt: message.createdAt,
            expiresAt: Math.floor(Date.now() / 1000) + GUARD_TTL_SECONDS,
          },
          ConditionExpression: "attribute_not_exists(messageId)",
        }),
      );
      return message.createdAt;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // A replay: go where the first write went (it may have crashed before the message itself).
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tables.messageIds, Key: { messageId: message.messageId }, ConsistentRead: true }),
    );
    if (!Item) throw new MessageStoreError(`guard of message ${message.messageId} vanished during a replay`);
    if (Item.sessionId !== message.sessionId) {
      throw new MessageStoreError(`message ${message.messageId} already belongs to another session`);
    }
    return Number(Item.createdAt);
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

import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** How long a messageId guard blocks replays: longer than SQS keeps a job (14 days at most). */
const GUARD_TTL_SECONDS = 15 * 24 * 3600;
/** A writer holds a pending guard this long; after that a replay may take the write over. */
const LEASE_MS = 10_000;
const POLL_MS = 25;

export type GuardClaim =
  /** No write of this messageId was seen before: write it. */
  | { kind: "new"; owner: string; createdAt: number }
  /** An earlier write finished: the message is at createdAt. */
  | { kind: "stored"; createdAt: number }
  /** An earlier write stopped before it finished: it may or may not have put the message. */
  | { kind: "takeover"; owner: string; createdAt: number };

export class MessageGuardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MessageGuardError";
  }
}

/** Whether the message with this id is stored at (sessionId, createdAt). */
export type MessageProbe = (sessionId: string, createdAt: number, messageId: string) => Promise<boolean>;

/**
 * The messageIds table: which messageIds were written, and where. A writer first claims
 * the guard (pending, with a lease, at the millisecond it will try first); a second writer
 * of the same messageId waits for the write to finish, or takes over when the lease runs
 * out (the first writer crashed).
 *
 * A write is finished when its message is at the guard's createdAt, or when the guard is
 * marked stored. Most writes take the millisecond they tried first, so they need no
 * second write to the guard; only a write moved by a clash records where it went.
 */
export class MessageGuards {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly isStoredAt: MessageProbe;

  constructor(doc: DynamoDBDocumentClient, table: string, isStoredAt: MessageProbe) {
    this.doc = doc;
    this.table = table;
    this.isStoredAt = isStoredAt;
  }

  async claim(messageId: string, sessionId: string, createdAt: number): Promise<GuardClaim> {
    const owner = randomUUID();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { messageId, sessionId, createdAt, state: "pending", owner, leaseUntil: Date.now() + LEASE_MS, expiresAt: ttl() },
          ConditionExpression: "attribute_not_exists(messageId)",
        }),
      );
      return { kind: "new", owner, createdAt };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const deadline = Date.now() + LEASE_MS + 5_000;
    while (Date.now() < deadline) {
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: { messageId }, ConsistentRead: true }));
      if (!Item) throw new MessageGuardError(`guard of message ${messageId} vanished during a replay`);
      if (Item.sessionId !== sessionId) throw new MessageGuardError(`message ${messageId} belongs to another session`);
      const at = Number(Item.createdAt);
      if (Item.state === "stored" || (await this.isStoredAt(sessionId, at, messageId))) return { kind: "stored", createdAt: at };
      if (Number(Item.leaseUntil) < Date.now()) {
        try {
          await this.doc.send(
            new UpdateCommand({
              TableName: this.table,
              Key: { messageId },
              UpdateExpression: "SET #owner = :owner, leaseUntil = :leaseUntil",
              ConditionExpression: "#owner = :previous",
              ExpressionAttributeNames: { "#owner": "owner" },
              ExpressionAttributeValues: { ":owner": owner, ":leaseUntil": Date.now() + LEASE_MS, ":previous": Item.owner },
            }),
          );
          return { kind: "takeover", owner, createdAt: Number(Item.createdAt) };
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new MessageGuardError(`message ${messageId} is still being written by another writer`);
  }

  /** Records where a moved (or taken-over) write put the message; only the guard's current owner may. */
  async markStored(messageId: string, owner: string, createdAt: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { messageId },
          UpdateExpression: "SET #state = :stored, createdAt = :createdAt REMOVE leaseUntil",
          ConditionExpression: "#owner = :owner",
          ExpressionAttributeNames: { "#state": "state", "#owner": "owner" },
          ExpressionAttributeValues: { ":stored": "stored", ":createdAt": createdAt, ":owner": owner },
        }),
      );
    } catch (error) {
      // Our lease ran out and a replay took over; it finds the message we stored.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Where a messageId was (or is being) written; the caller checks the message is there. */
  async location(messageId: string): Promise<{ sessionId: string; createdAt: number } | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: { messageId }, ConsistentRead: true }));
    return Item ? { sessionId: String(Item.sessionId), createdAt: Number(Item.createdAt) } : undefined;
  }
}

function ttl(): number {
  return Math.floor(Date.now() / 1000) + GUARD_TTL_SECONDS;
}

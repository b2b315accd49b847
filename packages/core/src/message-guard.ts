import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { OUTLIVES_JOB_SECONDS } from "./job.ts";

/** A writer holds a pending guard this long; after that a replay may take the write over. */
const LEASE_MS = 10_000;
const POLL_MS = 25;

export type GuardClaim =
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
 * The messageIds table: which messageIds were written, and where. Today a guard is written in
 * one transaction with its message (MessagesRepository.put), so it exists only when its message
 * does, at the guard's createdAt, and carries no state.
 *
 * Guards written before that (until 15 days after the change: their TTL) were claimed first,
 * `pending` with a lease, and the message put after. Such a guard is settled here as it was
 * then: a replay waits while the lease runs and the message is not found, and takes the write
 * over when the lease runs out (the first writer crashed). Such a write is finished when its
 * message is at the guard's createdAt, or when the guard is marked stored.
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

  /** Settles a replay of a write whose guard is a pending one of the old two-step writes. */
  async settle(messageId: string, sessionId: string): Promise<GuardClaim> {
    const owner = randomUUID();
    const deadline = Date.now() + LEASE_MS + 5_000;
    while (Date.now() < deadline) {
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: { messageId }, ConsistentRead: true }));
      if (!Item) throw new MessageGuardError(`guard of message ${messageId} vanished during a replay`);
      if (Item.sessionId !== sessionId) throw new MessageGuardError(`message ${messageId} belongs to another session`);
      const at = Number(Item.createdAt);
      if (Item.state !== "pending" || (await this.isStoredAt(sessionId, at, messageId))) return { kind: "stored", createdAt: at };
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
          return { kind: "takeover", owner, createdAt: at };
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

/** The guard's expiresAt (TTL), written with every guard. */
export function guardExpiresAt(): number {
  return Math.floor(Date.now() / 1000) + OUTLIVES_JOB_SECONDS;
}

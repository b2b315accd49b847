import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

interface Batch {
  count: number;
  latest: number;
  waiters: { resolve: (first: boolean) => void; reject: (error: unknown) => void }[];
}

/**
 * Keeps a session's summary (`updatedAt`, `messageCount`) up to date as messages are
 * stored. Every stored message updates the one session item, and updates of one item are
 * serialized (by DynamoDB, and by dynalite's per-item lock): a burst of N messages would
 * queue N updates behind each other. So one instance sends at most one update per session
 * at a time, and the touches that arrive meanwhile are added up into the next one.
 * A touch resolves once an update that includes it is written, to true if it was the session's
 * first (the update found `messageCount` 0: from then on listSessions shows the session).
 */
export class SessionTouches {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  /** Touches not yet sent, per session. */
  private readonly waiting = new Map<string, Batch>();
  /** The update in flight (or queued behind one), per session. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(doc: DynamoDBDocumentClient, table: string) {
    this.doc = doc;
    this.table = table;
  }

  /**
   * Counts `count` messages stored in the session, the latest at `createdAt`. Resolves to true
   * for the one touch that took the session from no messages (the first of its batch).
   */
  touch(sessionId: string, createdAt: number, count = 1): Promise<boolean> {
    return new Promise((resolve, reject) => {
      let batch = this.waiting.get(sessionId);
      if (!batch) {
        batch = { count: 0, latest: createdAt, waiters: [] };
        this.waiting.set(sessionId, batch);
        this.schedule(sessionId);
      }
      batch.count += count;
      batch.latest = Math.max(batch.latest, createdAt);
      batch.waiters.push({ resolve, reject });
    });
  }

  private schedule(sessionId: string): void {
    const previous = this.running.get(sessionId);
    const run = (async () => {
      await previous;
      const batch = this.waiting.get(sessionId);
      this.waiting.delete(sessionId);
      if (!batch) return;
      try {
        const before = await this.write(sessionId, batch.count, batch.latest);
        batch.waiters.forEach((waiter, index) => waiter.resolve(before === 0 && index === 0));
      } catch (error) {
        for (const waiter of batch.waiters) waiter.reject(error);
      }
    })();
    this.running.set(sessionId, run);
    void run.finally(() => {
      if (this.running.get(sessionId) === run) this.running.delete(sessionId);
    });
  }

  /**
   * `updatedAt` only moves forward (writers' clocks and batches may arrive out of order); the
   * count always grows. Returns the count before this update (from the update itself, no
   * read), or undefined when the session is gone.
   */
  private async write(sessionId: string, count: number, latest: number): Promise<number | undefined> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { sessionId },
          UpdateExpression: "SET updatedAt = :latest ADD messageCount :count",
          ConditionExpression: "attribute_exists(sessionId) AND (attribute_not_exists(updatedAt) OR updatedAt < :latest)",
          ExpressionAttributeValues: { ":latest": latest, ":count": count },
          ReturnValues: "UPDATED_OLD",
        }),
      );
      return countBefore(Attributes);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { sessionId },
          UpdateExpression: "ADD messageCount :count",
          ConditionExpression: "attribute_exists(sessionId)",
          ExpressionAttributeValues: { ":count": count },
          ReturnValues: "UPDATED_OLD",
        }),
      );
      return countBefore(Attributes);
    } catch (error) {
      // A message of a deleted session is still kept; only the summary is not updated.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return undefined;
    }
  }
}

/** UPDATED_OLD holds the attributes the update changed, as they were: no messageCount, none counted yet. */
function countBefore(attributes: Record<string, unknown> | undefined): number {
  const before = attributes?.messageCount;
  return typeof before === "number" ? before : 0;
}

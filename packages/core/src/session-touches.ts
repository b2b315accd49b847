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
 * A touch resolves once an update that includes it is written.
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
   * Counts `count` messages stored in the session, the latest at `createdAt`. Resolves to
   * whether the update that counted them was the session's first: its count went from none.
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
        const first = await this.write(sessionId, batch.count, batch.latest);
        for (const waiter of batch.waiters) waiter.resolve(first);
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
   * count always grows. Returns whether the count went from none (the old count, UPDATED_OLD).
   */
  private async write(sessionId: string, count: number, latest: number): Promise<boolean> {
    const first = (attributes: Record<string, unknown> | undefined) => !attributes?.messageCount;
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
      return first(Attributes);
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
      return first(Attributes);
    } catch (error) {
      // A message of a deleted session is still kept; only the summary is not updated.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return false;
    }
  }
}

/**
 * The session's summary update as one action of a TransactWriteItems (a message's put, a USER
 * message's `enqueuedAt`): the same update as SessionTouches', each of its conditions a state
 * the transaction's cancellation reveals (the session's item, ALL_OLD), so the caller sends the
 * transaction once more with the summary plan that fits (nextSummary).
 */
export interface SummaryPlan {
  sessionId: string;
  /** Messages counted. */
  count: number;
  /** The latest of their createdAt. */
  latest: number;
  /** Whether `updatedAt` moves to `latest` (false: an update from a later message came first). */
  forward: boolean;
  /**
   * What the count must be before: "counted" (above 0: the session had messages) so that the
   * USER message's update tells a session's first message, which then goes as `{ was }`; "any"
   * for the agent's.
   */
  before: "counted" | "any" | { was: number | undefined };
}

export function summaryUpdate(table: string, plan: SummaryPlan) {
  const conditions = ["attribute_exists(sessionId)"];
  const values: Record<string, number> = { ":count": plan.count };
  if (plan.forward) {
    conditions.push("(attribute_not_exists(updatedAt) OR updatedAt < :latest)");
    values[":latest"] = plan.latest;
  }
  if (plan.before === "counted") {
    conditions.push("messageCount > :zero");
    values[":zero"] = 0;
  } else if (plan.before !== "any") {
    if (plan.before.was === undefined) conditions.push("attribute_not_exists(messageCount)");
    else {
      conditions.push("messageCount = :was");
      values[":was"] = plan.before.was;
    }
  }
  return {
    Update: {
      TableName: table,
      Key: { sessionId: plan.sessionId },
      UpdateExpression: plan.forward ? "SET updatedAt = :latest ADD messageCount :count" : "ADD messageCount :count",
      ConditionExpression: conditions.join(" AND "),
      ExpressionAttributeValues: values,
      ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
    },
  };
}

/**
 * The plan to send again after the summary's condition failed, from the session's item as it
 * was (undefined: the session is gone, and its message is kept without a summary update).
 */
export function nextSummary(plan: SummaryPlan, session: Record<string, unknown> | undefined): SummaryPlan | undefined {
  if (!session) return undefined;
  const updatedAt = typeof session.updatedAt === "number" ? session.updatedAt : undefined;
  const count = typeof session.messageCount === "number" ? session.messageCount : undefined;
  const forward = plan.forward && (updatedAt === undefined || updatedAt < plan.latest);
  let before = plan.before;
  if (before === "counted" && !(count !== undefined && count > 0)) before = { was: count };
  else if (typeof before === "object" && before.was !== count) before = count !== undefined && count > 0 ? "counted" : { was: count };
  return { ...plan, forward, before };
}

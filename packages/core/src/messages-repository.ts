import { ConditionalCheckFailedException, TransactionCanceledException, type CancellationReason } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { MessageClock } from "./message-clock.ts";
import { guardExpiresAt, MessageGuardError, MessageGuards } from "./message-guard.ts";
import { Message } from "./message.ts";
import type { Tables } from "./resources.ts";
import { nextSummary, SessionTouches, summaryUpdate, type SummaryPlan } from "./session-touches.ts";

/** Same-millisecond clashes are rare; this many in a row means something is wrong. */
const MAX_CLASHES = 100;
/** How far past its first millisecond a message can have moved (a replay searches this far). */
const MAX_DRIFT_MS = 60_000;
/** Concurrent transactions on the same items (DynamoDB's TransactionConflict) are sent again this often at most. */
const MAX_CONFLICTS = 10;

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
   * The session's summary (`updatedAt`, `messageCount`). Default true: updated before put()
   * returns, in batches (SessionTouches: a burst into one session shares its updates). False
   * leaves that to the caller, who counts the messages it stored and calls touchSession() once
   * for all of them. "with-message": in the message's own request (its TransactWriteItems),
   * counting `alsoCount` too — an agent turn's reply, with the turn's earlier messages.
   */
  touch?: boolean | "with-message";
  /**
   * Messages stored before with `touch: false`, counted with this one (`touch: "with-message"`).
   * Counted only when this message is created: a replay counts nothing, and the caller then
   * counts them itself.
   */
  alsoCount?: { count: number; latest: number };
  /**
   * Store it only while its session exists and is this user's: a ConditionCheck in the same
   * transaction, no extra request. A USER message: a tab of a chat deleted meanwhile (a warm
   * instance remembers the tab's session) adds nothing to it. Not with `touch: "with-message"`.
   */
  ofUser?: string;
}

/** What one transaction of a message's put found. */
type PutOutcome =
  | { kind: "stored" }
  /** The guard exists: this messageId was written before (the guard as it is). */
  | { kind: "replay"; guard: Record<string, unknown> }
  /** The millisecond is taken by another message; `session`: the summary's condition failed too. */
  | { kind: "clash"; session?: { item: Record<string, unknown> | undefined } }
  /** Only the summary's condition failed (the session's item as it is). */
  | { kind: "summary"; session: { item: Record<string, unknown> | undefined } }
  | { kind: "conflict" }
  /** The session is gone, or not `ofUser`'s. */
  | { kind: "gone" };

/** The message's session is gone (deleted) or not the user's: nothing was stored (PutOptions.ofUser). */
export class SessionGoneError extends Error {
  readonly sessionId: string;
  constructor(sessionId: string) {
    super(`session ${sessionId} does not exist, or is not this user's`);
    this.name = "SessionGoneError";
    this.sessionId = sessionId;
  }
}

export class MessageStoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MessageStoreError";
  }
}

/**
 * The one way messages are written, by chat and agent alike (docs/architecture.md §2).
 * One request per stored message: a TransactWriteItems of the messageIds guard
 * (`attribute_not_exists(messageId)`), the message (`attribute_not_exists(createdAt)`) and,
 * when asked, the session's summary. No overwrite: a message only takes a free
 * (sessionId, createdAt) slot, moving forward on a clash. No duplicate: the guard remembers
 * each messageId and where it went, so a replay finds its message instead of writing a second
 * one; since guard and message are written together, a guard always has its message.
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
    if (options.ofUser !== undefined && options.touch === "with-message") throw new TypeError("ofUser and touch: \"with-message\" both act on the session's item");
    const wanted = options.after === undefined ? message.createdAt : Math.max(message.createdAt, options.after + 1);
    // Taken before the first await, so this instance's writes are placed in the order they were issued.
    const first = this.clock.next(message.sessionId, wanted);
    let summary: SummaryPlan | undefined =
      options.touch === "with-message"
        ? { sessionId: message.sessionId, count: 1 + (options.alsoCount?.count ?? 0), latest: Math.max(first, options.alsoCount?.latest ?? 0), forward: true, before: "any" }
        : undefined;
    let createdAt = first;
    let clashes = 0;
    let conflicts = 0;
    for (;;) {
      const candidate = { ...message, createdAt };
      const plan = summary && { ...summary, latest: Math.max(summary.latest, createdAt) };
      const outcome = await this.transact(candidate, plan, options.ofUser);
      switch (outcome.kind) {
        case "stored":
          if (createdAt !== first) this.clock.observe(message.sessionId, createdAt);
          if (options.touch === true || options.touch === undefined) await this.touches.touch(message.sessionId, createdAt);
          return { message: candidate, created: true };
        case "replay":
          return this.replay(message, outcome.guard, options);
        case "gone":
          throw new SessionGoneError(message.sessionId);
        case "conflict":
          if (++conflicts > MAX_CONFLICTS) throw new MessageStoreError(`message ${message.messageId}: ${MAX_CONFLICTS} transaction conflicts in a row`);
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** Math.min(conflicts, 6)));
          break;
        case "summary":
          summary = plan && nextSummary(plan, outcome.session.item);
          break;
        case "clash":
          if (outcome.session) summary = plan && nextSummary(plan, outcome.session.item);
          if (++clashes >= MAX_CLASHES) throw new MessageStoreError(`no free millisecond for message ${message.messageId} after ${MAX_CLASHES} tries`);
          createdAt = this.clock.next(message.sessionId, nextCandidate(createdAt, clashes - 1));
          break;
      }
    }
  }

  /** One try: guard, message and (when asked) the session's summary, all or nothing. */
  private async transact(candidate: Message, summary: SummaryPlan | undefined, ofUser: string | undefined): Promise<PutOutcome> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tables.messageIds,
                Item: { messageId: candidate.messageId, sessionId: candidate.sessionId, createdAt: candidate.createdAt, expiresAt: guardExpiresAt() },
                ConditionExpression: "attribute_not_exists(messageId)",
                ReturnValuesOnConditionCheckFailure: "ALL_OLD",
              },
            },
            { Put: { TableName: this.tables.messages, Item: candidate, ConditionExpression: "attribute_not_exists(createdAt)" } },
            ...(summary ? [summaryUpdate(this.tables.sessions, summary)] : []),
            ...(ofUser === undefined
              ? []
              : [
                  {
                    ConditionCheck: {
                      TableName: this.tables.sessions,
                      Key: { sessionId: candidate.sessionId },
                      ConditionExpression: "userId = :user",
                      ExpressionAttributeValues: { ":user": ofUser },
                    },
                  },
                ]),
          ],
        }),
      );
      return { kind: "stored" };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const failed = (i: number) => reasons[i]?.Code === "ConditionalCheckFailed";
      // Checked first: a replay into a deleted chat finds its message gone with it.
      if (ofUser !== undefined && failed(2)) return { kind: "gone" };
      if (failed(0)) return { kind: "replay", guard: plainItem(reasons[0]) ?? {} };
      if (reasons.some((reason) => reason.Code === "TransactionConflict")) return { kind: "conflict" };
      const session = failed(2) ? { item: plainItem(reasons[2]) } : undefined;
      if (failed(1)) return { kind: "clash", session };
      if (session) return { kind: "summary", session };
      throw error;
    }
  }

  /** A replay: the guard says where the message went. */
  private async replay(message: Message, guard: Record<string, unknown>, options: PutOptions): Promise<StoredMessage> {
    if (guard.sessionId !== message.sessionId) throw new MessageGuardError(`message ${message.messageId} belongs to another session`);
    if (guard.state === "pending") return this.settleLegacy(message, options);
    const stored = await this.get(message.sessionId, Number(guard.createdAt));
    if (stored?.messageId === message.messageId) return { message: stored, created: false };
    throw new MessageStoreError(`message ${message.messageId} is recorded as stored but is not in the session`);
  }

  /**
   * A replay of a write that began before guard and message were written together: its guard
   * is pending (message-guard.ts). As then: find the message, or take the write over.
   */
  private async settleLegacy(message: Message, options: PutOptions): Promise<StoredMessage> {
    const claim = await this.guards.settle(message.messageId, message.sessionId);
    if (claim.kind === "stored") {
      const stored = await this.get(message.sessionId, claim.createdAt);
      if (stored?.messageId === message.messageId) return { message: stored, created: false };
      throw new MessageStoreError(`message ${message.messageId} is recorded as stored but is not in the session`);
    }
    // The earlier writer stopped after the guard; it may have put the message before stopping.
    const earlier = await this.findFrom(message.sessionId, message.messageId, claim.createdAt);
    if (earlier) {
      await this.guards.markStored(message.messageId, claim.owner, earlier.createdAt);
      return { message: earlier, created: false };
    }
    let createdAt = claim.createdAt;
    for (let clash = 0; clash < MAX_CLASHES; clash++) {
      const candidate = { ...message, createdAt };
      try {
        await this.doc.send(new PutCommand({ TableName: this.tables.messages, Item: candidate, ConditionExpression: "attribute_not_exists(createdAt)" }));
        this.clock.observe(message.sessionId, createdAt);
        await this.guards.markStored(message.messageId, claim.owner, createdAt);
        if (options.touch !== false) {
          const also = options.touch === "with-message" ? options.alsoCount : undefined;
          await this.touches.touch(message.sessionId, Math.max(createdAt, also?.latest ?? 0), 1 + (also?.count ?? 0));
        }
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
   * `latest`; resolves to whether they were the session's first (its count went from none).
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

  /**
   * Records that a USER message's job reached the queue, and with `touch` counts the message in
   * the session's summary in the same request (a TransactWriteItems). `firstMessage`: the
   * session had no message before this one (its count went from 0 to 1, known from the
   * summary's condition: a session's first message costs one request more).
   */
  async markEnqueued(sessionId: string, createdAt: number, enqueuedAt: number, options: { touch?: boolean } = {}): Promise<{ firstMessage: boolean }> {
    const mark = {
      TableName: this.tables.messages,
      Key: { sessionId, createdAt },
      UpdateExpression: "SET enqueuedAt = :enqueuedAt",
      ConditionExpression: "attribute_exists(createdAt)",
      ExpressionAttributeValues: { ":enqueuedAt": enqueuedAt },
    };
    let plan: SummaryPlan | undefined = options.touch ? { sessionId, count: 1, latest: createdAt, forward: true, before: "counted" } : undefined;
    for (let round = 0; round < MAX_CONFLICTS; round++) {
      if (!plan) {
        await this.doc.send(new UpdateCommand(mark));
        return { firstMessage: false };
      }
      try {
        await this.doc.send(new TransactWriteCommand({ TransactItems: [{ Update: mark }, summaryUpdate(this.tables.sessions, plan)] }));
        return { firstMessage: typeof plan.before === "object" && !plan.before.was };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const [message, session] = error.CancellationReasons ?? [];
        if (message?.Code === "ConditionalCheckFailed") throw new MessageStoreError(`message ${sessionId}/${createdAt} is not stored`, { cause: error });
        if (session?.Code === "ConditionalCheckFailed") plan = nextSummary(plan, plainItem(session));
        else if (message?.Code === "TransactionConflict" || session?.Code === "TransactionConflict") await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** round));
        else throw error;
      }
    }
    throw new MessageStoreError(`the summary of session ${sessionId} kept changing under message ${createdAt}`);
  }
}

/** A cancellation reason's item (ALL_OLD) as plain values: the document client leaves errors as the wire has them. */
function plainItem(reason: CancellationReason | undefined): Record<string, unknown> | undefined {
  return reason?.Item && unmarshall(reason.Item);
}

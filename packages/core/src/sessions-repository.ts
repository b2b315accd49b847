import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import "./zod-english.ts";
import { SessionSummary } from "./frames.ts";

export const SessionRecord = z.extend(SessionSummary, { messageCount: z._default(z.int().check(z.nonnegative()), 0) });
export type SessionRecord = z.infer<typeof SessionRecord>;

export const SESSIONS_BY_USER_INDEX = "byUser";

/** A place in a user's sessions, newest first: the GSI byUser's key of the last session seen. */
export interface SessionPosition {
  sessionId: string;
  updatedAt: number;
}

export interface SessionPage {
  sessions: SessionRecord[];
  /** Where the next page starts; absent on the last page. */
  next?: SessionPosition;
}

/** Index pages read for one listing at most: a user with many empty sessions still gets an answer soon (with `next`). */
const MAX_INDEX_PAGES = 10;
/** Extra items asked per index page, for the empty sessions the filter drops. */
const FILTER_SLACK = 10;

export class SessionsRepository {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(doc: DynamoDBDocumentClient, table: string) {
    this.doc = doc;
    this.table = table;
  }

  async create(userId: string, now = Date.now()): Promise<SessionRecord> {
    const session: SessionRecord = { sessionId: randomUUID(), userId, title: "", createdAt: now, updatedAt: now, messageCount: 0 };
    await this.doc.send(
      new PutCommand({ TableName: this.table, Item: session, ConditionExpression: "attribute_not_exists(sessionId)" }),
    );
    return session;
  }

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: { sessionId }, ConsistentRead: true }));
    return Item ? SessionRecord.parse(Item) : undefined;
  }

  /**
   * A user's sessions that have messages, most recently updated first (GSI byUser), from
   * `after` on. The user is part of the key condition, so no position can reach another
   * user's sessions. A session updated while someone pages moves to the front.
   */
  async listByUser(userId: string, options: { limit: number; after?: SessionPosition }): Promise<SessionPage> {
    const found: SessionRecord[] = [];
    let startKey: Record<string, unknown> | undefined = options.after && { userId, ...options.after };
    for (let page = 0; page < MAX_INDEX_PAGES; page++) {
      const result = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: SESSIONS_BY_USER_INDEX,
          KeyConditionExpression: "userId = :userId",
          FilterExpression: "messageCount > :none",
          ExpressionAttributeValues: { ":userId": userId, ":none": 0 },
          ScanIndexForward: false,
          // One more than asked for: finding it tells whether there is a next page.
          Limit: options.limit + 1 - found.length + FILTER_SLACK,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of result.Items ?? []) found.push(SessionRecord.parse(item));
      startKey = result.LastEvaluatedKey;
      if (found.length > options.limit) {
        const sessions = found.slice(0, options.limit);
        return { sessions, next: positionOf(sessions[sessions.length - 1]!) };
      }
      if (!startKey) return { sessions: found };
    }
    // Many empty sessions in a row: answer with what was found and go on from where the reading stopped.
    if (!startKey) return { sessions: found };
    return { sessions: found, next: { sessionId: String(startKey.sessionId), updatedAt: Number(startKey.updatedAt) } };
  }

  /**
   * Sets the title unless the session has one already (events arrive at least once, and a
   * title once shown should not change under the user). False when nothing was changed.
   */
  async setTitleIfEmpty(sessionId: string, title: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { sessionId },
          UpdateExpression: "SET title = :title",
          ConditionExpression: "attribute_exists(sessionId) AND (attribute_not_exists(title) OR title = :empty)",
          ExpressionAttributeValues: { ":title": title, ":empty": "" },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Renames a session of `userId` (the condition is the ownership check); undefined when there
   * is no such session of theirs. The order of the list (updatedAt) is kept.
   */
  async rename(sessionId: string, userId: string, title: string): Promise<SessionRecord | undefined> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { sessionId },
          UpdateExpression: "SET title = :title",
          ConditionExpression: "attribute_exists(sessionId) AND userId = :userId",
          ExpressionAttributeValues: { ":title": title, ":userId": userId },
          ReturnValues: "ALL_NEW",
        }),
      );
      return SessionRecord.parse(Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** Deletes a session of `userId`; false when there is no such session of theirs. */
  async delete(sessionId: string, userId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({ TableName: this.table, Key: { sessionId }, ConditionExpression: "attribute_exists(sessionId) AND userId = :userId", ExpressionAttributeValues: { ":userId": userId } }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

function positionOf(session: SessionRecord): SessionPosition {
  return { sessionId: session.sessionId, updatedAt: session.updatedAt };
}

export function toSessionSummary(session: SessionRecord): SessionSummary {
  return {
    sessionId: session.sessionId,
    userId: session.userId,
    title: session.title,
    createdAt: session.createdAt,
    updatedAt: session.updatedAt,
  };
}

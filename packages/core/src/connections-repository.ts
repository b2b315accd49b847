import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import "./zod-english.ts";

/** API Gateway closes a connection after 2 hours; keep the row a little longer, then let TTL drop it. */
const CONNECTION_TTL_SECONDS = 2 * 3600 + 600;

export const ConnectionRecord = z.object({
  connectionId: z.string().check(z.minLength(1)),
  sessionId: z.uuid(),
  userId: z.string().check(z.minLength(1)),
  connectedAt: z.int(),
  expiresAt: z.int(),
});
export type ConnectionRecord = z.infer<typeof ConnectionRecord>;

export const CONNECTIONS_BY_SESSION_INDEX = "bySession";
export const CONNECTIONS_BY_USER_INDEX = "byUser";

/**
 * How long a connection may still be in its handshake: $connect writes the row, and the
 * socket opens only once $connect has returned, within API Gateway's 29 s integration
 * timeout. Until then a post to it answers 410 although it is about to open.
 */
export const HANDSHAKE_WINDOW_MS = 30_000;

export class ConnectionsRepository {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(doc: DynamoDBDocumentClient, table: string) {
    this.doc = doc;
    this.table = table;
  }

  async put(input: { connectionId: string; sessionId: string; userId: string; connectedAt: number }): Promise<ConnectionRecord> {
    const record = ConnectionRecord.parse({ ...input, expiresAt: Math.floor(input.connectedAt / 1000) + CONNECTION_TTL_SECONDS });
    await this.doc.send(new PutCommand({ TableName: this.table, Item: record }));
    return record;
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: { connectionId }, ConsistentRead: true }));
    return Item ? ConnectionRecord.parse(Item) : undefined;
  }

  async delete(connectionId: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { connectionId } }));
  }

  /**
   * Removes a connection that answered 410 (GoneException), unless it is younger than the
   * handshake window: a 410 then means "not open yet", and deleting the row would leave the
   * new tab deaf to every later frame. Such a row is left to $disconnect or the TTL. True
   * when deleted.
   */
  async deleteGone(connectionId: string, now = Date.now()): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { connectionId },
          ConditionExpression: "connectedAt < :handshakeOver",
          ExpressionAttributeValues: { ":handshakeOver": now - HANDSHAKE_WINDOW_MS },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** How many connections the user has open (GSI byUser, eventually consistent: a cap, not a count to the unit). */
  async countByUser(userId: string): Promise<number> {
    const now = Math.floor(Date.now() / 1000);
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: CONNECTIONS_BY_USER_INDEX,
          KeyConditionExpression: "userId = :userId",
          FilterExpression: "expiresAt > :now",
          ExpressionAttributeValues: { ":userId": userId, ":now": now },
          Select: "COUNT",
          ExclusiveStartKey: startKey,
        }),
      );
      count += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  /** Every open tab of a user, whatever their session (GSI byUser). */
  listByUser(userId: string): Promise<ConnectionRecord[]> {
    return this.listOpen(CONNECTIONS_BY_USER_INDEX, "userId", userId);
  }

  /** Every open tab of a session (GSI bySession). */
  listBySession(sessionId: string): Promise<ConnectionRecord[]> {
    return this.listOpen(CONNECTIONS_BY_SESSION_INDEX, "sessionId", sessionId);
  }

  /** The rows of an index's key, every page; rows past their TTL are skipped (DynamoDB deletes them late). */
  private async listOpen(index: string, key: "userId" | "sessionId", value: string): Promise<ConnectionRecord[]> {
    const now = Math.floor(Date.now() / 1000);
    const records: ConnectionRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: index,
          KeyConditionExpression: "#key = :value",
          ExpressionAttributeNames: { "#key": key },
          ExpressionAttributeValues: { ":value": value },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const record = ConnectionRecord.parse(item);
        if (record.expiresAt > now) records.push(record);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return records;
  }
}

import { randomUUID } from "node:crypto";
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import { SessionSummary } from "./frames.ts";

export const SessionRecord = SessionSummary.extend({ messageCount: z.number().int().nonnegative().default(0) });
export type SessionRecord = z.infer<typeof SessionRecord>;

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

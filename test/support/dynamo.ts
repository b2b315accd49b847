import { randomUUID } from "node:crypto";
import { CreateTableCommand, DynamoDBClient, type CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll } from "vitest";
import type { Message } from "../../packages/core/src/message.ts";
import type { Tables } from "@azuchi/core/resources";
import { SessionsRepository } from "../../packages/core/src/sessions-repository.ts";
import { createTables, startDynamo, type LocalDynamo, type StartDynamoOptions } from "../../packages/local/src/dynamodb.ts";

export interface TestDynamo {
  dynamo: LocalDynamo;
  doc: DynamoDBDocumentClient;
  tables: Tables;
  stop(): Promise<void>;
}

/** dynalite in memory with azuchi's tables, and a document client on it. */
export async function startTestDynamo(): Promise<TestDynamo> {
  const dynamo = await startDynamo();
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
  const tables = { sessions: "Sessions", connections: "Connections", messages: "Messages", messageIds: "MessageIds" };
  await createTables(client, tables);
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { dynamo, doc, tables, stop: () => (client.destroy(), dynamo.close()) };
}

/**
 * dynalite with azuchi's tables for the file, and a sessions repository on it; the fields are
 * filled in beforeAll.
 */
export function useTestDynamo() {
  const context = { db: undefined as unknown as TestDynamo, sessions: undefined as unknown as SessionsRepository };
  beforeAll(async () => {
    context.db = await startTestDynamo();
    context.sessions = new SessionsRepository(context.db.doc, context.db.tables.sessions);
  });
  afterAll(() => context.db?.stop());
  return context;
}

/**
 * dynalite in memory for the file with the tables given, and a plain client on it that does not
 * retry (a test of the local DynamoDB itself sees each answer as it came); filled in beforeAll.
 */
export function useDynaliteWith(tables: CreateTableCommandInput[], options: Omit<StartDynamoOptions, "dir" | "thread"> = {}) {
  const context = { dynamo: undefined as unknown as LocalDynamo, client: undefined as unknown as DynamoDBClient };
  beforeAll(async () => {
    context.dynamo = await startDynamo(options);
    context.client = new DynamoDBClient({ endpoint: context.dynamo.endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" }, maxAttempts: 1 });
    for (const table of tables) await context.client.send(new CreateTableCommand(table));
  });
  afterAll(async () => {
    context.client?.destroy();
    await context.dynamo?.close();
  });
  return context;
}

/** A USER message of the session, with a fresh messageId. */
export function userMessage(sessionId: string, text: string, createdAt: number): Message {
  return { sessionId, messageId: randomUUID(), createdAt, role: "USER", messageType: "CONVERSATION", message: text };
}

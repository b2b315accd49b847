import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Tables } from "../../packages/core/src/resources.ts";
import { createTables, startDynamo, type LocalDynamo } from "../../packages/local/src/dynamodb.ts";

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

import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { tableDefinitions } from "../../packages/local/src/dynamodb.ts";
import { component, loadInfrastructure, type Infrastructure } from "./fake-sst.ts";

/** sst.aws.Dynamo's arguments, as far as the table's shape goes. */
interface DynamoArgs {
  fields: Record<string, "string" | "number" | "binary">;
  primaryIndex: { hashKey: string; rangeKey?: string };
  globalIndexes?: Record<string, { hashKey: string; rangeKey?: string; projection?: string }>;
  ttl?: string;
}

const attributeType = { string: "S", number: "N", binary: "B" } as const;

/** The same table as DynamoDB's CreateTable input, in a comparable order. */
function asCreateTable(name: string, args: DynamoArgs) {
  const keys = (index: { hashKey: string; rangeKey?: string }) => [
    { AttributeName: index.hashKey, KeyType: "HASH" },
    ...(index.rangeKey ? [{ AttributeName: index.rangeKey, KeyType: "RANGE" }] : []),
  ];
  return {
    TableName: name,
    AttributeDefinitions: Object.entries(args.fields)
      .map(([AttributeName, type]) => ({ AttributeName, AttributeType: attributeType[type] }))
      .sort((a, b) => a.AttributeName.localeCompare(b.AttributeName)),
    KeySchema: keys(args.primaryIndex),
    GlobalSecondaryIndexes: Object.entries(args.globalIndexes ?? {})
      .map(([IndexName, index]) => ({ IndexName, KeySchema: keys(index), Projection: { ProjectionType: (index.projection ?? "all").toUpperCase() } }))
      .sort((a, b) => a.IndexName.localeCompare(b.IndexName)),
  };
}

function normalized(definition: CreateTableCommandInput) {
  return {
    TableName: definition.TableName,
    AttributeDefinitions: [...(definition.AttributeDefinitions ?? [])].sort((a, b) => a.AttributeName!.localeCompare(b.AttributeName!)),
    KeySchema: definition.KeySchema,
    GlobalSecondaryIndexes: [...(definition.GlobalSecondaryIndexes ?? [])]
      .map(({ IndexName, KeySchema, Projection }) => ({ IndexName, KeySchema, Projection }))
      .sort((a, b) => a.IndexName!.localeCompare(b.IndexName!)),
  };
}

describe("the DynamoDB tables (docs/architecture.md §2)", () => {
  let infra: Infrastructure;
  beforeAll(async () => {
    infra = await loadInfrastructure({ stage: "prod", dev: false });
  });

  const local = tableDefinitions({ sessions: "Sessions", connections: "Connections", messages: "Messages", messageIds: "MessageIds" });

  it.each(local.map((definition) => [definition.TableName!, definition] as const))(
    "deploys %s exactly as the local stack creates it",
    (name, definition) => {
      expect(asCreateTable(name, component(infra, name).args as unknown as DynamoArgs)).toEqual(normalized(definition));
    },
  );

  it("keys messages by session and epoch-millisecond createdAt, and sessions by user and updatedAt", () => {
    expect(component(infra, "Messages").args).toMatchObject({
      fields: { sessionId: "string", createdAt: "number" },
      primaryIndex: { hashKey: "sessionId", rangeKey: "createdAt" },
    });
    expect(component(infra, "Sessions").args).toMatchObject({
      fields: { userId: "string", updatedAt: "number" },
      globalIndexes: { byUser: { hashKey: "userId", rangeKey: "updatedAt" } },
    });
    expect(component(infra, "Connections").args).toMatchObject({
      globalIndexes: { byUser: { hashKey: "userId" }, bySession: { hashKey: "sessionId" } },
    });
  });

  it("expires connections and replay guards by expiresAt, and never messages or sessions", () => {
    const ttl = Object.fromEntries(["Sessions", "Connections", "Messages", "MessageIds"].map((name) => [name, component(infra, name).args.ttl]));
    expect(ttl).toEqual({ Sessions: undefined, Connections: "expiresAt", Messages: undefined, MessageIds: "expiresAt" });
  });

  it("makes production's Redis a Valkey cluster (three shards, a replica each across zones), and a local redis-server under sst dev", () => {
    const redis = component(infra, "AgentMemory");
    expect(redis.type).toBe("sst.aws.Redis");
    expect(redis.args).toMatchObject({ engine: "valkey", cluster: { nodes: 3 }, dev: { host: "localhost", port: 6379 } });
    const group: Record<string, unknown> = {};
    (redis.args.transform as { cluster: (args: Record<string, unknown>) => void }).cluster(group);
    expect(group).toMatchObject({ replicasPerNodeGroup: 1, multiAzEnabled: true, automaticFailoverEnabled: true });
    expect(component(infra, "Vpc").type).toBe("sst.aws.Vpc");
  });
});

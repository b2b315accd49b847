import { isProductionStage } from "./defaults.ts";

/**
 * The data: the four DynamoDB tables of docs/architecture.md §2, and the agent's Redis (§3) in a
 * VPC whose NAT lets the functions inside it reach OpenAI and the AWS APIs.
 * packages/local/src/dynamodb.ts creates the same tables for the local stack; an infra test
 * keeps the two identical.
 */

/** The tables as `sst.aws.Dynamo` arguments, plain data so the tests can read them. */
export const tableSettings = {
  Sessions: {
    fields: { sessionId: "string", userId: "string", updatedAt: "number" },
    primaryIndex: { hashKey: "sessionId" },
    globalIndexes: { byUser: { hashKey: "userId", rangeKey: "updatedAt" } },
  },
  Connections: {
    fields: { connectionId: "string", userId: "string", sessionId: "string" },
    primaryIndex: { hashKey: "connectionId" },
    globalIndexes: { byUser: { hashKey: "userId" }, bySession: { hashKey: "sessionId" } },
    ttl: "expiresAt",
  },
  Messages: {
    fields: { sessionId: "string", createdAt: "number" },
    primaryIndex: { hashKey: "sessionId", rangeKey: "createdAt" },
  },
  MessageIds: {
    fields: { messageId: "string" },
    primaryIndex: { hashKey: "messageId" },
    ttl: "expiresAt",
  },
} as const satisfies Record<string, sst.aws.DynamoArgs>;

/** Under `sst dev` the functions run on your machine against this redis-server (see README). */
export const DEV_REDIS = { host: "localhost", port: 6379 } as const;

export function createStorage() {
  const production = isProductionStage($app.stage);

  const table = (name: keyof typeof tableSettings) =>
    new sst.aws.Dynamo(name, {
      ...tableSettings[name],
      deletionProtection: production,
      transform: {
        // Conversations are the product: restorable to any second of the last 35 days in production.
        table: (args) => {
          args.pointInTimeRecovery = { enabled: production };
        },
      },
    });
  const tables = {
    sessions: table("Sessions"),
    connections: table("Connections"),
    messages: table("Messages"),
    messageIds: table("MessageIds"),
  };

  // Under `sst dev` no function runs in AWS, so no VPC (and no NAT bill) is needed: Redis is a
  // pointer to DEV_REDIS and creates nothing, so it gets an empty network.
  const vpc = $dev
    ? undefined
    : new sst.aws.Vpc("Vpc", {
        az: 2,
        // Managed NAT gateways in production; an EC2 NAT instance (a few dollars a month) elsewhere.
        nat: production ? "managed" : "ec2",
      });

  const memory = new sst.aws.Redis("AgentMemory", {
    engine: "redis",
    cluster: false,
    vpc: vpc ?? { subnets: [], securityGroups: [] },
    dev: DEV_REDIS,
  });

  return { tables, vpc, memory };
}

export type Storage = ReturnType<typeof createStorage>;

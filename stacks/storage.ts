import { isProductionStage } from "./defaults.ts";
import { agentMemorySettings, VPC_CIDR } from "./scaling.ts";

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
        transform: {
          vpc: (args) => {
            args.cidrBlock = VPC_CIDR;
          },
          // SST's NAT instance accepts anything from anywhere; only the VPC's own traffic is NAT's.
          natSecurityGroup: (args) => {
            args.ingress = [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: [VPC_CIDR] }];
          },
        },
      });
  if (vpc) {
    // DynamoDB through the free gateway endpoint, not through NAT (charged per GB).
    new aws.ec2.VpcEndpoint("DynamoDbEndpoint", {
      vpcId: vpc.id,
      serviceName: $interpolate`com.amazonaws.${aws.getRegionOutput().region}.dynamodb`,
      vpcEndpointType: "Gateway",
      routeTableIds: vpc.nodes.privateRouteTables.apply((tables) => tables.map((table) => table.id)),
    });
  }

  const settings = agentMemorySettings(production);
  const memory = new sst.aws.Redis("AgentMemory", {
    engine: settings.engine,
    instance: settings.instance,
    cluster: settings.cluster,
    vpc: vpc ?? { subnets: [], securityGroups: [] },
    dev: DEV_REDIS,
    transform: {
      cluster: (args) => {
        if (settings.replicasPerShard === 0) return;
        args.replicasPerNodeGroup = settings.replicasPerShard;
        args.multiAzEnabled = true;
        args.automaticFailoverEnabled = true;
      },
    },
  });
  // Under `sst dev` the link is a plain local redis-server, never a cluster.
  const redisCluster = !$dev && settings.cluster !== false;

  return { tables, vpc, memory, redisCluster };
}

export type Storage = ReturnType<typeof createStorage>;

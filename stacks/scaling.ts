/**
 * How azuchi scales, as plain data the stacks, the local stack and the tests read
 * (README "Capacity and cost"; docs/architecture.md §9).
 */
import { VISIBILITY_TIMEOUT_SECONDS } from "@azuchi/agent/job-timing";

/**
 * High-throughput FIFO: SQS partitions the queue by message group (our sessions) and lifts the
 * plain FIFO queue's 300 calls a second for the whole queue; deduplication is per group then,
 * which is all azuchi needs (a job's dedup id is its own jobId, in its session's group).
 */
export const highThroughputFifo = { deduplicationScope: "messageGroup", fifoThroughputLimit: "perMessageGroupId" } as const;

/**
 * The oldest job waits longer than this only if the consumer is stuck or far behind: a job
 * may wait its retries (2 s, 8 s, 32 s) and one visibility timeout after a crash, not more.
 */
export const OLDEST_JOB_ALARM_SECONDS = Math.max(300, 2 * VISIBILITY_TIMEOUT_SECONDS);

/** The VPC's address range (SST's default, written down so the NAT instance's ingress can name it). */
export const VPC_CIDR = "10.0.0.0/16";

/**
 * AgentMemory per stage: production gets ElastiCache Valkey in cluster mode (three shards, a
 * replica each in another zone, automatic failover); every key a script touches shares one
 * hash tag, so the scripts run there unchanged (docs/architecture.md §3). Other stages keep
 * one small Redis node.
 */
export function agentMemorySettings(production: boolean) {
  return production
    ? { engine: "valkey" as const, instance: "r7g.large", cluster: { nodes: 3 }, replicasPerShard: 1 }
    : { engine: "redis" as const, instance: "t4g.micro", cluster: false as const, replicasPerShard: 0 };
}

/**
 * The capacity and cost model of README "Capacity and cost": from what one turn costs in calls
 * (measured by the bench) and AWS's and OpenAI's published quotas and prices, the turns per
 * second each component allows, which binds first, and the infrastructure cost of 1,000 turns
 * (the model's tokens excluded). Pure arithmetic; the figures it starts from are in
 * ./published.ts with their sources, and what the bench measured comes in as `TurnProfile`.
 */
import * as z from "zod";
import { PUBLISHED, type Published } from "./published.ts";

/**
 * What one turn costs, as `npm run bench -- --json` writes it (at least these fields), or
 * docs/capacity/turn-profile.json. `callsPerTurn` names AWS operations `<service>.<Operation>`
 * (`DynamoDB_20120810.PutItem`, `AmazonSQS.SendMessage`, `AWSEvents.PutEvents`,
 * `ApiGatewayManagement.POST`); unknown services are ignored.
 */
export const TurnProfile = z.object({
  callsPerTurn: z.record(z.string(), z.number().nonnegative()),
  redisRoundTripsPerTurn: z.number().nonnegative(),
  /** Redis commands run per turn, those inside scripts included (ECPUs on Serverless); default: the round trips. */
  redisCommandsPerTurn: z.number().nonnegative().optional(),
  /** Frames the browser sends per turn (putMessage); default 1. */
  clientFramesPerTurn: z.number().nonnegative().optional(),
});
export type TurnProfile = z.infer<typeof TurnProfile>;

/** What the bench cannot measure locally: the real model's time and tokens, and the deployment. */
export const Assumptions = z.object({
  /** The consumer's duration per turn, mostly waiting for the model (s). */
  consumerSecondsPerTurn: z.number().positive(),
  consumerMemoryMb: z.number().positive(),
  /** The chat route invocations per turn (putMessage) and their duration. */
  chatInvocationsPerTurn: z.number().nonnegative(),
  chatSecondsPerInvocation: z.number().positive(),
  chatMemoryMb: z.number().positive(),
  /** Input plus output tokens of one turn, all its model calls together. */
  tokensPerTurn: z.number().positive(),
  /** The consumer's event source mapping maximumConcurrency (packages/agent/src/job-timing.ts). */
  consumerMaxConcurrency: z.number().int().positive(),
  /** Redis commands one shard serves a second: not published by AWS; measure (redis-benchmark, the bench). */
  redisOpsPerSecondPerShard: z.number().positive(),
  redisShards: z.number().int().positive(),
  /** Write and read request units per DynamoDB write and read (items over 1 KB / 4 KB take more). */
  wruPerWrite: z.number().positive(),
  rruPerRead: z.number().positive(),
});
export type Assumptions = z.infer<typeof Assumptions>;

export const CapacityInput = z.object({ profile: TurnProfile, assumptions: Assumptions });
export type CapacityInput = z.infer<typeof CapacityInput>;

export interface ComponentLimit {
  component: string;
  /** Turns a second it allows. */
  turnsPerSecond: number;
  /** How, in words: the quota divided by what a turn takes of it. */
  arithmetic: string;
  source: string;
}

export interface CostLine {
  item: string;
  /** US dollars per 1,000 turns. */
  per1000Turns: number;
  arithmetic: string;
  source: string;
}

export interface CapacityReport {
  limits: ComponentLimit[];
  /** The smallest of the limits that apply to the deployed configuration (high-throughput FIFO, one OpenAI tier). */
  binding: ComponentLimit;
  /** The smallest of the AWS limits alone: what binds once OpenAI's tier is raised. */
  bindingInfrastructure: ComponentLimit;
  costs: CostLine[];
  costPer1000Turns: number;
}

const DYNAMO_WRITES = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"];
const DYNAMO_READS = ["GetItem", "Query", "Scan", "BatchGetItem"];

function callsOf(profile: TurnProfile, service: string, operations?: string[]): number {
  return Object.entries(profile.callsPerTurn)
    .filter(([name]) => {
      const [svc, operation] = name.split(".");
      return svc === service && (operations === undefined || operations.includes(operation ?? ""));
    })
    .reduce((sum, [, n]) => sum + n, 0);
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

/** The turns a second each component allows, which binds first, and what 1,000 turns cost. */
export function capacity(input: CapacityInput, published: Published = PUBLISHED, openAiTier = "tier 1"): CapacityReport {
  const { profile, assumptions: a } = input;
  const p = published;
  const sqsSends = callsOf(profile, "AmazonSQS", ["SendMessage", "SendMessageBatch"]) || 1;
  const sqsRequests = callsOf(profile, "AmazonSQS");
  const posts = callsOf(profile, "ApiGatewayManagement");
  const frames = profile.clientFramesPerTurn ?? 1;
  const wsMessages = posts + frames;
  const writes = callsOf(profile, "DynamoDB_20120810", DYNAMO_WRITES);
  const reads = callsOf(profile, "DynamoDB_20120810", DYNAMO_READS);
  const events = callsOf(profile, "AWSEvents");
  const redisCommands = profile.redisCommandsPerTurn ?? profile.redisRoundTripsPerTurn;

  const limits: ComponentLimit[] = [
    {
      component: "API Gateway WebSocket (account request rate)",
      turnsPerSecond: p.apiGateway.accountRequestsPerSecond / wsMessages,
      arithmetic: `${p.apiGateway.accountRequestsPerSecond} requests/s ÷ ${round(wsMessages, 1)} messages a turn (${frames} in, ${round(posts, 1)} @connections posts)`,
      source: p.apiGateway.source,
    },
    {
      component: "SQS FIFO, plain",
      turnsPerSecond: p.sqs.plainFifoTps / sqsSends,
      arithmetic: `${p.sqs.plainFifoTps} SendMessage/s per queue ÷ ${sqsSends} a turn`,
      source: p.sqs.source,
    },
    {
      component: "SQS FIFO, high throughput (us-east-1)",
      turnsPerSecond: p.sqs.highThroughputTps / sqsSends,
      arithmetic: `${p.sqs.highThroughputTps} SendMessage/s per queue ÷ ${sqsSends} a turn (a session sends one message a turn: its group's 300/s never binds)`,
      source: p.sqs.source,
    },
    {
      component: "Lambda, the consumer's maximumConcurrency",
      turnsPerSecond: a.consumerMaxConcurrency / a.consumerSecondsPerTurn,
      arithmetic: `${a.consumerMaxConcurrency} concurrent turns ÷ ${a.consumerSecondsPerTurn} s a turn (Little's law)`,
      source: "packages/agent/src/job-timing.ts",
    },
    {
      component: "Lambda, account concurrency",
      turnsPerSecond: p.lambda.accountConcurrency / (a.consumerSecondsPerTurn + a.chatInvocationsPerTurn * a.chatSecondsPerInvocation),
      arithmetic: `${p.lambda.accountConcurrency} concurrent executions ÷ ${round(a.consumerSecondsPerTurn + a.chatInvocationsPerTurn * a.chatSecondsPerInvocation, 2)} s of execution a turn`,
      source: p.lambda.source,
    },
    {
      component: "DynamoDB on-demand, per table",
      turnsPerSecond: p.dynamodb.tableWritesPerSecond / Math.max(writes * a.wruPerWrite, 1e-9),
      arithmetic: `${p.dynamodb.tableWritesPerSecond} WRU/s per table ÷ ${round(writes * a.wruPerWrite, 1)} WRU a turn (all tables counted on one: conservative)`,
      source: p.dynamodb.source,
    },
    {
      component: `Redis, ${a.redisShards} shard(s)`,
      turnsPerSecond: (a.redisOpsPerSecondPerShard * a.redisShards) / Math.max(redisCommands, 1e-9),
      arithmetic: `${a.redisOpsPerSecondPerShard} commands/s a shard (assumed) × ${a.redisShards} ÷ ${round(redisCommands, 1)} commands a turn`,
      source: "assumption (AWS publishes no commands/s per node type)",
    },
    ...Object.entries(p.openai.tokensPerMinute).map(([tier, tpm]) => ({
      component: `OpenAI ${tier}`,
      turnsPerSecond: tpm / 60 / a.tokensPerTurn,
      arithmetic: `${tpm} tokens/min ÷ 60 ÷ ${a.tokensPerTurn} tokens a turn`,
      source: p.openai.source,
    })),
  ];
  // The deployed configuration: high-throughput FIFO (not the plain mode), one OpenAI tier.
  const deployed = limits.filter((l) => l.component !== "SQS FIFO, plain" && (!l.component.startsWith("OpenAI ") || l.component === `OpenAI ${openAiTier}`));
  const least = (candidates: ComponentLimit[]) => candidates.reduce((min, l) => (l.turnsPerSecond < min.turnsPerSecond ? l : min));
  const binding = least(deployed);
  const bindingInfrastructure = least(deployed.filter((l) => !l.component.startsWith("OpenAI ")));

  const gbSeconds = (a.consumerMemoryMb / 1024) * a.consumerSecondsPerTurn + a.chatInvocationsPerTurn * (a.chatMemoryMb / 1024) * a.chatSecondsPerInvocation;
  const invocations = 1 + a.chatInvocationsPerTurn;
  const costs: CostLine[] = [
    { item: "API Gateway WebSocket messages", per1000Turns: (1000 * wsMessages * p.apiGateway.perMillionMessages) / 1e6, arithmetic: `${round(wsMessages, 1)} messages × $${p.apiGateway.perMillionMessages}/M`, source: p.apiGateway.priceSource },
    { item: "SQS FIFO requests", per1000Turns: (1000 * sqsRequests * p.sqs.perMillionFifoRequests) / 1e6, arithmetic: `${round(sqsRequests, 1)} requests × $${p.sqs.perMillionFifoRequests}/M`, source: p.sqs.priceSource },
    { item: "Lambda requests", per1000Turns: (1000 * invocations * p.lambda.perMillionRequests) / 1e6, arithmetic: `${invocations} invocations × $${p.lambda.perMillionRequests}/M`, source: p.lambda.priceSource },
    { item: "Lambda duration (arm64)", per1000Turns: 1000 * gbSeconds * p.lambda.perGbSecondArm, arithmetic: `${round(gbSeconds, 3)} GB-s × $${p.lambda.perGbSecondArm}`, source: p.lambda.priceSource },
    { item: "DynamoDB on-demand writes", per1000Turns: (1000 * writes * a.wruPerWrite * p.dynamodb.perMillionWru) / 1e6, arithmetic: `${round(writes * a.wruPerWrite, 1)} WRU × $${p.dynamodb.perMillionWru}/M`, source: p.dynamodb.priceSource },
    { item: "DynamoDB on-demand reads", per1000Turns: (1000 * reads * a.rruPerRead * p.dynamodb.perMillionRru) / 1e6, arithmetic: `${round(reads * a.rruPerRead, 1)} RRU × $${p.dynamodb.perMillionRru}/M`, source: p.dynamodb.priceSource },
    { item: "EventBridge events", per1000Turns: (1000 * events * p.eventbridge.perMillionEvents) / 1e6, arithmetic: `${round(events, 1)} PutEvents calls × $${p.eventbridge.perMillionEvents}/M (billed per event: counted as one each)`, source: p.eventbridge.source },
    { item: "ElastiCache Serverless (Valkey) ECPUs", per1000Turns: (1000 * redisCommands * p.elasticache.perMillionEcpuValkey) / 1e6, arithmetic: `${round(redisCommands, 1)} ECPUs (≈ commands of ≤ 1 KB) × $${p.elasticache.perMillionEcpuValkey}/M`, source: p.elasticache.source },
  ];
  const costPer1000Turns = costs.reduce((sum, c) => sum + c.per1000Turns, 0);
  return { limits, binding, bindingInfrastructure, costs, costPer1000Turns };
}

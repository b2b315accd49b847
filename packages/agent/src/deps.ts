import {
  AGENT_EVENT_SOURCE,
  ConnectionsRepository,
  createManagementClient,
  createRedis,
  type EventPublisher,
  MessagesRepository,
  Notifier,
  redisKeys,
  type RedisKeys,
  Resource,
  SessionsRepository,
  createDocumentClient,
  linkedBusName,
  linkedJobsQueueUrl,
  linkedRedis,
  linkedSocketEndpoint,
  linkedTables,
  nonNegativeIntFromEnv,
  optionalStringFromEnv,
  positiveIntFromEnv,
  stringFromEnv,
  type Env,
  type RedisEndpoint,
  type Tables,
} from "@azuchi/core";
import { publisherOnFirstUse } from "@azuchi/core/event-bus";
import { Logger } from "@aws-lambda-powertools/logger";
import type * as sqsSdk from "@aws-sdk/client-sqs";
import type { RedisClient } from "@azuchi/core";
import { ModelLimiter, modelLimitsFromEnvironment, type ModelLimits } from "./model-limiter.ts";
import type OpenAI from "openai";
import { ConversationMemory } from "./conversation-memory.ts";
import { DEFAULT_LOCK_TTL_MS, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_RECEIVES, DEFAULT_OPENAI_MODEL, DEFAULT_TURN_TIMEOUT_MS } from "./defaults.ts";
import type { ModelConfig } from "./model-run.ts";
import { createOpenAiClient, type OpenAiClientSettings } from "./openai-client.ts";
import { SessionLocks } from "./session-lock.ts";
import { ToolRegistry } from "./tools/index.ts";

/** The agent's configuration, with its defaults; read from the links and the environment. */
export interface AgentSettings {
  redis: RedisEndpoint;
  openai: OpenAiClientSettings;
  model: ModelConfig;
  historyLength: number;
  /** The model's rate limit, shared by every consumer (model-limiter.ts). */
  modelLimits: ModelLimits;
  tables: Tables;
  managementEndpoint: string;
  busName: string;
  jobsQueueUrl: string;
  deadLetterQueueUrl: string;
  /** Attempts of one job before the agent gives it up to the dead-letter queue. */
  maxAttempts: number;
  /**
   * The jobs queue's redrive maxReceiveCount (AZUCHI_MAX_RECEIVES): SQS delivers a job this
   * often, then moves it to the dead-letter queue without a word. The agent keeps the last
   * receive for giving the job up itself, with the user told and the reason recorded.
   */
  maxReceives: number;
  /** The session lock's TTL (AZUCHI_LOCK_TTL_MS); a running turn renews it every heartbeat. */
  lockTtlMs: number;
  /** The longest one turn may run; the queue's visibility timeout must be well above it. */
  turnTimeoutMs: number;
  /** How often a running turn renews its lock and reads the stop flag. */
  heartbeatMs: number;
  /** The first retry's delay; each further one waits four times longer. */
  retryBaseSeconds: number;
}

/** Everything an agent turn touches, created once per Lambda instance. */
export interface AgentDeps {
  settings: AgentSettings;
  redis: RedisClient;
  /** azuchi's Redis keys: the consumer counts a failed attempt (job-attempts.ts) and spends a given-up job's stop flag (core's clearStop) with them. */
  keys: RedisKeys;
  locks: SessionLocks;
  memory: ConversationMemory;
  openai: OpenAI;
  tools: ToolRegistry;
  modelLimiter: ModelLimiter;
  messages: MessagesRepository;
  sessions: SessionsRepository;
  connections: ConnectionsRepository;
  notifier: Notifier;
  /**
   * The bus, made on first use: a turn publishes its events after its reply is sent, so the
   * EventBridge client (core's event-publisher.ts) is imported then, not at a cold start, as
   * chat's and the HTTP route's are.
   */
  events: () => Promise<EventPublisher>;
  /**
   * SQS, made on first use. The consumer calls it only for jobs that failed (their retries'
   * visibility, the dead letters), so the SDK's SQS client is imported then: with the functions
   * split (stacks/defaults.ts) a cold start does not load it.
   */
  sqs: () => Promise<JobQueueClient>;
  logger: Logger;
}

/** The SQS client and the module of its commands. */
export interface JobQueueClient {
  client: sqsSdk.SQSClient;
  sdk: typeof sqsSdk;
}

export const DEFAULT_INSTRUCTIONS = [
  "You are azuchi, a helpful assistant in a chat.",
  "Answer in the language the user writes in.",
  "For a request with several steps, first call update_plan with your steps, and call it again as steps complete.",
  "Use get_current_time whenever the answer depends on the current date or time.",
].join(" ");

/** Every setting's default is the one written at its reader's call (core env.ts: a bad value throws). */
export function settingsFromEnvironment(env: Env = process.env): AgentSettings {
  return {
    redis: linkedRedis(env),
    // OPENAI_BASE_URL, when set, points the client at another server: an OpenAI-compatible
    // endpoint, or the local offline model.
    openai: {
      apiKey: Resource.OpenAiApiKey.value,
      baseURL: optionalStringFromEnv("OPENAI_BASE_URL", env),
      timeoutMs: positiveIntFromEnv("AZUCHI_OPENAI_TIMEOUT_MS", 60_000, env),
      maxRetries: nonNegativeIntFromEnv("AZUCHI_OPENAI_MAX_RETRIES", 2, env),
    },
    model: {
      model: stringFromEnv("AZUCHI_OPENAI_MODEL", DEFAULT_OPENAI_MODEL, env),
      instructions: stringFromEnv("AZUCHI_AGENT_INSTRUCTIONS", DEFAULT_INSTRUCTIONS, env),
      maxOutputTokens: positiveIntFromEnv("AZUCHI_MAX_OUTPUT_TOKENS", 4_000, env),
      maxSteps: positiveIntFromEnv("AZUCHI_MAX_MODEL_STEPS", 8, env),
      historyChars: positiveIntFromEnv("AZUCHI_HISTORY_CHARS", 100_000, env),
    },
    historyLength: positiveIntFromEnv("AZUCHI_HISTORY_LENGTH", 50, env),
    modelLimits: modelLimitsFromEnvironment(env),
    tables: linkedTables(),
    managementEndpoint: linkedSocketEndpoint(),
    busName: linkedBusName(),
    jobsQueueUrl: linkedJobsQueueUrl(),
    // The agent's alone (no other function links it), so read here rather than through core's links.ts.
    deadLetterQueueUrl: Resource.AgentJobsDlq.url,
    maxAttempts: positiveIntFromEnv("AZUCHI_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, env),
    // Deployed: job-timing.ts maxReceiveCount, passed by stacks/agent.ts.
    maxReceives: positiveIntFromEnv("AZUCHI_MAX_RECEIVES", DEFAULT_MAX_RECEIVES, env),
    lockTtlMs: positiveIntFromEnv("AZUCHI_LOCK_TTL_MS", DEFAULT_LOCK_TTL_MS, env),
    turnTimeoutMs: positiveIntFromEnv("AZUCHI_TURN_TIMEOUT_MS", DEFAULT_TURN_TIMEOUT_MS, env),
    heartbeatMs: positiveIntFromEnv("AZUCHI_HEARTBEAT_MS", 500, env),
    retryBaseSeconds: positiveIntFromEnv("AZUCHI_RETRY_BASE_SECONDS", 2, env),
  };
}

export function createAgentDeps(settings: AgentSettings): AgentDeps {
  const doc = createDocumentClient();
  const keys = redisKeys();
  const redis = createRedis(settings.redis);
  const connections = new ConnectionsRepository(doc, settings.tables.connections);
  let sqs: Promise<JobQueueClient> | undefined;
  return {
    settings,
    redis,
    keys,
    locks: new SessionLocks(redis, keys, settings.lockTtlMs),
    memory: new ConversationMemory(redis, keys, settings.historyLength),
    openai: createOpenAiClient(settings.openai),
    tools: new ToolRegistry(),
    modelLimiter: new ModelLimiter(redis, settings.modelLimits),
    messages: new MessagesRepository(doc, settings.tables),
    sessions: new SessionsRepository(doc, settings.tables.sessions),
    connections,
    notifier: new Notifier(createManagementClient(settings.managementEndpoint), connections),
    events: publisherOnFirstUse(AGENT_EVENT_SOURCE, () => settings.busName),
    // Core's createSqsClient (its subpath: a static import would bring the client into the cold start).
    sqs: () => (sqs ??= Promise.all([import("@aws-sdk/client-sqs"), import("@azuchi/core/sqs-client")]).then(([sdk, { createSqsClient }]) => ({ client: createSqsClient(), sdk }))),
    logger: new Logger({ serviceName: "azuchi-ai-agent" }),
  };
}

let deps: AgentDeps | undefined;

/** The Lambda instance's dependencies, created on first use. */
export function agentDeps(): AgentDeps {
  deps ??= createAgentDeps(settingsFromEnvironment());
  return deps;
}

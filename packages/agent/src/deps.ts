import {
  redisEndpoint,
  AGENT_EVENT_SOURCE,
  ConnectionsRepository,
  createEventBridgeClient,
  createManagementClient,
  createRedis,
  createSqsClient,
  EventPublisher,
  MessagesRepository,
  Notifier,
  redisKeys,
  type RedisKeys,
  Resource,
  SessionsRepository,
  createDocumentClient,
  type RedisEndpoint,
  type SQSClient,
  type Tables,
} from "@azuchi/core";
import { Logger } from "@aws-lambda-powertools/logger";
import type { RedisClient } from "@azuchi/core";
import { ModelLimiter, modelLimitsFromEnvironment, type ModelLimits } from "./model-limiter.ts";
import type OpenAI from "openai";
import { ConversationMemory } from "./conversation-memory.ts";
import { linkedTables } from "./linked-tables.ts";
import { DEFAULT_OPENAI_MODEL } from "./model-defaults.ts";
import type { ModelConfig } from "./model-run.ts";
import { createOpenAiClient, type OpenAiClientSettings } from "./openai-client.ts";
import { JobAttempts } from "./job-attempts.ts";
import { LOCK_TTL_MS, SessionLocks } from "./session-lock.ts";
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
  /** azuchi's Redis keys: the consumer spends a given-up job's stop flag with them (core's clearStop). */
  keys: RedisKeys;
  locks: SessionLocks;
  attempts: JobAttempts;
  memory: ConversationMemory;
  openai: OpenAI;
  tools: ToolRegistry;
  modelLimiter: ModelLimiter;
  messages: MessagesRepository;
  sessions: SessionsRepository;
  connections: ConnectionsRepository;
  notifier: Notifier;
  events: EventPublisher;
  sqs: SQSClient;
  logger: Logger;
}

export const DEFAULT_INSTRUCTIONS = [
  "You are azuchi, a helpful assistant in a chat.",
  "Answer in the language the user writes in.",
  "For a request with several steps, first call update_plan with your steps, and call it again as steps complete.",
  "Use get_current_time whenever the answer depends on the current date or time.",
].join(" ");

function intFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

function nonNegativeIntFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? Number.NaN);
  return Number.isInteger(value) && value >= 0 ? value : fallback;
}

export function settingsFromEnvironment(): AgentSettings {
  return {
    redis: redisEndpoint(Resource.AgentMemory),
    // OPENAI_BASE_URL, when set, points the client at another server: an OpenAI-compatible
    // endpoint, or the local offline model.
    openai: {
      apiKey: Resource.OpenAiApiKey.value,
      baseURL: process.env.OPENAI_BASE_URL || undefined,
      timeoutMs: intFromEnv("AZUCHI_OPENAI_TIMEOUT_MS", 60_000),
      maxRetries: nonNegativeIntFromEnv("AZUCHI_OPENAI_MAX_RETRIES", 2),
    },
    model: {
      model: process.env.AZUCHI_OPENAI_MODEL || DEFAULT_OPENAI_MODEL,
      instructions: process.env.AZUCHI_AGENT_INSTRUCTIONS || DEFAULT_INSTRUCTIONS,
      maxOutputTokens: intFromEnv("AZUCHI_MAX_OUTPUT_TOKENS", 4_000),
      maxSteps: intFromEnv("AZUCHI_MAX_MODEL_STEPS", 8),
      historyChars: intFromEnv("AZUCHI_HISTORY_CHARS", 100_000),
    },
    historyLength: intFromEnv("AZUCHI_HISTORY_LENGTH", 50),
    modelLimits: modelLimitsFromEnvironment(),
    tables: linkedTables(),
    managementEndpoint: Resource.ChatSocket.managementEndpoint,
    busName: Resource.Events.name,
    jobsQueueUrl: Resource.AgentJobs.url,
    deadLetterQueueUrl: Resource.AgentJobsDlq.url,
    maxAttempts: intFromEnv("AZUCHI_MAX_ATTEMPTS", 3),
    // Deployed: stacks/job-timing.ts maxReceiveCount, passed by stacks/agent.ts.
    maxReceives: intFromEnv("AZUCHI_MAX_RECEIVES", 5),
    lockTtlMs: intFromEnv("AZUCHI_LOCK_TTL_MS", LOCK_TTL_MS),
    turnTimeoutMs: intFromEnv("AZUCHI_TURN_TIMEOUT_MS", 120_000),
    heartbeatMs: intFromEnv("AZUCHI_HEARTBEAT_MS", 500),
    retryBaseSeconds: intFromEnv("AZUCHI_RETRY_BASE_SECONDS", 2),
  };
}

export function createAgentDeps(settings: AgentSettings): AgentDeps {
  const doc = createDocumentClient();
  const keys = redisKeys();
  const redis = createRedis(settings.redis);
  const connections = new ConnectionsRepository(doc, settings.tables.connections);
  return {
    settings,
    redis,
    keys,
    locks: new SessionLocks(redis, keys, settings.lockTtlMs),
    attempts: new JobAttempts(redis, keys),
    memory: new ConversationMemory(redis, keys, settings.historyLength),
    openai: createOpenAiClient(settings.openai),
    tools: new ToolRegistry(),
    modelLimiter: new ModelLimiter(redis, settings.modelLimits),
    messages: new MessagesRepository(doc, settings.tables),
    sessions: new SessionsRepository(doc, settings.tables.sessions),
    connections,
    notifier: new Notifier(createManagementClient(settings.managementEndpoint), connections),
    events: new EventPublisher(createEventBridgeClient(), settings.busName, AGENT_EVENT_SOURCE),
    sqs: createSqsClient(),
    logger: new Logger({ serviceName: "azuchi-ai-agent" }),
  };
}

let deps: AgentDeps | undefined;

/** The Lambda instance's dependencies, created on first use. */
export function agentDeps(): AgentDeps {
  deps ??= createAgentDeps(settingsFromEnvironment());
  return deps;
}

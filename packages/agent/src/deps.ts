import {
  AGENT_EVENT_SOURCE,
  ConnectionsRepository,
  createRedis,
  createDocumentClient,
  createEventBridgeClient,
  createManagementClient,
  EventPublisher,
  MessagesRepository,
  Notifier,
  redisKeys,
  Resource,
  SessionsRepository,
} from "@azuchi/core";
import { Logger } from "@aws-lambda-powertools/logger";
import type { Redis } from "ioredis";
import OpenAI from "openai";
import { ConversationMemory } from "./history.ts";
import type { ModelConfig } from "./model-run.ts";

import { SessionLocks } from "./session-lock.ts";
import { ToolRegistry } from "./tools/index.ts";

/** Everything an agent turn touches, created once per Lambda instance. */
export interface AgentDeps {
  redis: Redis;
  locks: SessionLocks;
  memory: ConversationMemory;
  openai: OpenAI;
  model: ModelConfig;
  tools: ToolRegistry;
  messages: MessagesRepository;
  sessions: SessionsRepository;
  connections: ConnectionsRepository;
  notifier: Notifier;
  events: EventPublisher;
  logger: Logger;
  /** The queue's maxReceiveCount: the attempt that is the last before the DLQ. */
  maxReceiveCount: number;
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

let deps: AgentDeps | undefined;

export function agentDeps(): AgentDeps {
  if (deps) return deps;
  const doc = createDocumentClient();
  const keys = redisKeys();
  const redis = createRedis({
    host: Resource.AgentMemory.host,
    port: Number(Resource.AgentMemory.port),
    username: Resource.AgentMemory.username,
    password: Resource.AgentMemory.password,
    tls: process.env.AZUCHI_REDIS_TLS !== "false",
  });
  const connections = new ConnectionsRepository(doc, Resource.Connections.name);
  deps = {
    redis,
    locks: new SessionLocks(redis, keys),
    memory: new ConversationMemory(redis, keys, intFromEnv("AZUCHI_HISTORY_LENGTH", 50)),
    // OPENAI_BASE_URL, when set, points the same client at another server (the local offline model).
    openai: new OpenAI({
      apiKey: Resource.OpenAiApiKey.value,
      timeout: intFromEnv("AZUCHI_OPENAI_TIMEOUT_MS", 60_000),
      maxRetries: 2,
    }),
    model: {
      model: process.env.AZUCHI_OPENAI_MODEL || "gpt-4.1-mini",
      instructions: process.env.AZUCHI_AGENT_INSTRUCTIONS || DEFAULT_INSTRUCTIONS,
      maxOutputTokens: intFromEnv("AZUCHI_MAX_OUTPUT_TOKENS", 4_000),
      maxSteps: intFromEnv("AZUCHI_MAX_MODEL_STEPS", 8),
    },
    tools: new ToolRegistry(),
    messages: new MessagesRepository(doc, {
      sessions: Resource.Sessions.name,
      connections: Resource.Connections.name,
      messages: Resource.Messages.name,
      messageIds: Resource.MessageIds.name,
    }),
    sessions: new SessionsRepository(doc, Resource.Sessions.name),
    connections,
    notifier: new Notifier(createManagementClient(Resource.ChatSocket.managementEndpoint), connections),
    events: new EventPublisher(createEventBridgeClient(), Resource.Events.name, AGENT_EVENT_SOURCE),
    logger: new Logger({ serviceName: "azuchi-ai-agent" }),
    maxReceiveCount: intFromEnv("AZUCHI_MAX_RECEIVE_COUNT", 3),
  };
  return deps;
}

import {
  redisEndpoint,
  chatRedisKeys,
  ConnectionsRepository,
  createDocumentClient,
  createManagementClient,
  createRedis,
  CHAT_EVENT_SOURCE,
  createEventBridgeClient,
  createSqsClient,
  EventPublisher,
  MessagesRepository,
  Notifier,
  redisKeys,
  Resource,
  SessionsRepository,
  type ChatRedisKeys,
  type RedisKeys,
  messageRateLimiter,
  newSessionRateLimiter,
  type RateLimiter,
  type SQSClient,
} from "@azuchi/core";
import { Logger } from "@aws-lambda-powertools/logger";
import type { RedisClient } from "@azuchi/core";
import { randomBytes } from "node:crypto";
import { chatConfigFromEnv, type ChatConfig } from "./config.ts";
import { cursorKey, SessionCursors } from "./session-cursor.ts";

/** Everything azuchi-chat's handlers touch, created once per Lambda instance. */
export interface ChatDeps {
  config: ChatConfig;
  sessions: SessionsRepository;
  connections: ConnectionsRepository;
  messages: MessagesRepository;
  notifier: Notifier;
  sqs: SQSClient;
  queueUrl: string;
  /** MessagePosted for the USER messages chat stores. */
  events: EventPublisher;
  /** The agent's Redis (AgentMemory): chat's per-user rate limits under `azuchi:chat:`, and the stop flag. Connected on first use. */
  redis: RedisClient;
  agentKeys: RedisKeys;
  chatKeys: ChatRedisKeys;
  /** The user's message bucket, shared with the HTTP API. */
  messageRate: RateLimiter;
  /** The user's new-session bucket, at $connect. */
  newSessionRate: RateLimiter;
  cursors: SessionCursors;
  logger: Logger;
}

let deps: ChatDeps | undefined;

export function chatDeps(): ChatDeps {
  if (deps) return deps;
  const doc = createDocumentClient();
  const config = chatConfigFromEnv();
  const logger = new Logger({ serviceName: "azuchi-chat" });
  const tables = {
    sessions: Resource.Sessions.name,
    connections: Resource.Connections.name,
    messages: Resource.Messages.name,
    messageIds: Resource.MessageIds.name,
  };
  const connections = new ConnectionsRepository(doc, tables.connections);
  const redis = createRedis(redisEndpoint(Resource.AgentMemory));
  const secret = Resource.AuthSecret.value;
  if (!secret) logger.warn("no AuthSecret: listSessions cursors are valid only in this instance");
  deps = {
    config,
    sessions: new SessionsRepository(doc, tables.sessions),
    connections,
    messages: new MessagesRepository(doc, tables),
    notifier: new Notifier(createManagementClient(Resource.ChatSocket.managementEndpoint), connections),
    sqs: createSqsClient(),
    queueUrl: Resource.AgentJobs.url,
    events: new EventPublisher(createEventBridgeClient(), Resource.Events.name, CHAT_EVENT_SOURCE),
    redis,
    agentKeys: redisKeys(),
    chatKeys: chatRedisKeys(),
    messageRate: messageRateLimiter(redis, config.limits),
    newSessionRate: newSessionRateLimiter(redis, config.limits),
    cursors: new SessionCursors(cursorKey(secret || randomBytes(32).toString("hex"))),
    logger,
  };
  return deps;
}

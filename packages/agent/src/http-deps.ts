import {
  redisEndpoint,
  AGENT_EVENT_SOURCE,
  chatRedisKeys,
  ConnectionsRepository,
  createDocumentClient,
  createEventBridgeClient,
  createManagementClient,
  createRedis,
  createSqsClient,
  EventPublisher,
  MAX_MESSAGE_CHARS,
  messageRateLimiter,
  MessagesRepository,
  Notifier,
  positiveNumberFromEnv,
  Resource,
  SessionsRepository,
  userLimitsFromEnv,
  type ChatRedisKeys,
  type RateLimiter,
  type SQSClient,
} from "@azuchi/core";
import { Logger } from "@aws-lambda-powertools/logger";
import { linkedTables } from "./linked-tables.ts";

/**
 * What generateChatReply touches: the store-then-enqueue path, the tabs of the session, the
 * bus, and Redis for the user's message rate (one bucket with their WebSockets, so the HTTP
 * API is no way around the limit). No OpenAI.
 */
export interface HttpDeps {
  maxMessageChars: number;
  sessions: SessionsRepository;
  messages: MessagesRepository;
  notifier: Notifier;
  sqs: SQSClient;
  queueUrl: string;
  events: EventPublisher;
  messageRate: RateLimiter;
  chatKeys: ChatRedisKeys;
  logger: Logger;
}

let deps: HttpDeps | undefined;

export function httpDeps(): HttpDeps {
  if (deps) return deps;
  const doc = createDocumentClient();
  const tables = linkedTables();
  const redis = createRedis(redisEndpoint(Resource.AgentMemory));
  deps = {
    maxMessageChars: positiveNumberFromEnv(process.env, "AZUCHI_MAX_MESSAGE_CHARS", MAX_MESSAGE_CHARS, true),
    sessions: new SessionsRepository(doc, tables.sessions),
    messages: new MessagesRepository(doc, tables),
    notifier: new Notifier(createManagementClient(Resource.ChatSocket.managementEndpoint), new ConnectionsRepository(doc, tables.connections)),
    sqs: createSqsClient(),
    queueUrl: Resource.AgentJobs.url,
    events: new EventPublisher(createEventBridgeClient(), Resource.Events.name, AGENT_EVENT_SOURCE),
    messageRate: messageRateLimiter(redis, userLimitsFromEnv()),
    chatKeys: chatRedisKeys(),
    logger: new Logger({ serviceName: "azuchi-ai-agent" }),
  };
  return deps;
}

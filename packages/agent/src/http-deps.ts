import {
  AGENT_EVENT_SOURCE,
  chatRedisKeys,
  ConnectionsRepository,
  createDocumentClient,
  createManagementClient,
  createRedis,
  createSqsClient,
  linkedBusName,
  linkedJobsQueueUrl,
  linkedRedis,
  linkedSocketEndpoint,
  linkedTables,
  maxMessageCharsFromEnv,
  messageRateLimiter,
  MessagesRepository,
  Notifier,
  SessionsRepository,
  userLimitsFromEnv,
  type ChatRedisKeys,
  type Env,
  type EventPublisher,
  type RateLimiter,
  type RedisEndpoint,
  type SQSClient,
  type Tables,
  type UserLimits,
} from "@azuchi/core";
import { publisherOnFirstUse } from "@azuchi/core/event-bus";
import { Logger } from "@aws-lambda-powertools/logger";

/**
 * The HTTP API's configuration, read from the links and the environment: the same settings
 * as chat's putMessage (the longest message, the user's limits), so neither entry point is a
 * way around the other's.
 */
export interface HttpSettings {
  maxMessageChars: number;
  limits: UserLimits;
  redis: RedisEndpoint;
  tables: Tables;
  managementEndpoint: string;
  busName: string;
  jobsQueueUrl: string;
}

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
  /** Made on first use, as chat's: only a message stored but not queued is announced here (core's submitUserMessage). */
  events: () => Promise<EventPublisher>;
  messageRate: RateLimiter;
  chatKeys: ChatRedisKeys;
  logger: Logger;
}

export function httpSettingsFromEnvironment(env: Env = process.env): HttpSettings {
  return {
    maxMessageChars: maxMessageCharsFromEnv(env),
    limits: userLimitsFromEnv(env),
    redis: linkedRedis(env),
    tables: linkedTables(),
    managementEndpoint: linkedSocketEndpoint(),
    busName: linkedBusName(),
    jobsQueueUrl: linkedJobsQueueUrl(),
  };
}

export function createHttpDeps(settings: HttpSettings): HttpDeps {
  const doc = createDocumentClient();
  const { tables } = settings;
  return {
    maxMessageChars: settings.maxMessageChars,
    sessions: new SessionsRepository(doc, tables.sessions),
    messages: new MessagesRepository(doc, tables),
    notifier: new Notifier(createManagementClient(settings.managementEndpoint), new ConnectionsRepository(doc, tables.connections)),
    sqs: createSqsClient(),
    queueUrl: settings.jobsQueueUrl,
    events: publisherOnFirstUse(AGENT_EVENT_SOURCE, () => settings.busName),
    messageRate: messageRateLimiter(createRedis(settings.redis), settings.limits),
    chatKeys: chatRedisKeys(),
    logger: new Logger({ serviceName: "azuchi-ai-agent" }),
  };
}

let deps: HttpDeps | undefined;

/** The Lambda instance's dependencies, created on first use. */
export function httpDeps(): HttpDeps {
  deps ??= createHttpDeps(httpSettingsFromEnvironment());
  return deps;
}

import {
  ConnectionsRepository,
  createDocumentClient,
  createManagementClient,
  createSqsClient,
  MessagesRepository,
  Notifier,
  SessionsRepository,
  type SQSClient,
  type SubmitUserMessageDeps,
} from "@azuchi/core/repositories";
import { linkedJobsQueueUrl, linkedRedis, linkedSocketEndpoint, linkedTables } from "@azuchi/core/links";
import { Resource, type Tables } from "@azuchi/core/resources";
import { chatRedisKeys, createRedis, messageRateLimiter, newSessionRateLimiter, redisKeys, type ChatRedisKeys, type RateLimiter, type RedisClient, type RedisKeys } from "@azuchi/core/redis";
import { Logger } from "@aws-lambda-powertools/logger";
import { randomBytes } from "node:crypto";
import { chatConfigFromEnv, type ChatConfig } from "./config.ts";
import { cursorKey, SessionCursors } from "./session-cursor.ts";

type DynamoDBDocumentClient = ReturnType<typeof createDocumentClient>;

/*
 * azuchi-chat's composition root: everything its handlers touch, each made on its first use
 * and kept for the Lambda instance. One getter per dependency rather than one object of them
 * all, so a handler's bundle holds only what it calls: esbuild drops the getters (and with them
 * the AWS SDK clients, ioredis) that no code of that handler reaches. test/infra/bundles.test.ts
 * keeps each route to what it uses. This is still the one place that reads the links (through
 * core's links.ts, as agent's deps do) and the environment (config.ts, on core's env.ts), but for
 * putMessage's bus (submit-deps.ts: a module apart, since its `import()` would ship with every
 * route whose bundle holds it).
 */

let config: ChatConfig | undefined;
export function chatConfig(): ChatConfig {
  return (config ??= chatConfigFromEnv());
}

let logger: Logger | undefined;
export function chatLogger(): Logger {
  return (logger ??= new Logger({ serviceName: "azuchi-chat" }));
}

let documentClient: DynamoDBDocumentClient | undefined;
function documents(): DynamoDBDocumentClient {
  return (documentClient ??= createDocumentClient());
}

let linkedTableNames: Tables | undefined;
function tables(): Tables {
  return (linkedTableNames ??= linkedTables());
}

let sessionsRepository: SessionsRepository | undefined;
export function sessions(): SessionsRepository {
  return (sessionsRepository ??= new SessionsRepository(documents(), tables().sessions));
}

let connectionsRepository: ConnectionsRepository | undefined;
export function connections(): ConnectionsRepository {
  return (connectionsRepository ??= new ConnectionsRepository(documents(), tables().connections));
}

let messagesRepository: MessagesRepository | undefined;
export function messages(): MessagesRepository {
  return (messagesRepository ??= new MessagesRepository(documents(), tables()));
}

let socketNotifier: Notifier | undefined;
/** Frames to the WebSocket connections (API Gateway's @connections). */
export function notifier(): Notifier {
  return (socketNotifier ??= new Notifier(createManagementClient(linkedSocketEndpoint()), connections()));
}

let queue: { sqs: SQSClient; queueUrl: string } | undefined;
/** The agent's job queue (AgentJobs). */
export function jobQueue(): { sqs: SQSClient; queueUrl: string } {
  return (queue ??= { sqs: createSqsClient(), queueUrl: linkedJobsQueueUrl() });
}

let redisClient: RedisClient | undefined;
/** The agent's Redis (AgentMemory): chat's per-user rate limits under `azuchi:chat:`, and the stop flag. Connected on first use. */
export function redis(): RedisClient {
  return (redisClient ??= createRedis(linkedRedis()));
}

let agentRedisKeys: RedisKeys | undefined;
export function agentKeys(): RedisKeys {
  return (agentRedisKeys ??= redisKeys());
}

let chatKeysCache: ChatRedisKeys | undefined;
export function chatKeys(): ChatRedisKeys {
  return (chatKeysCache ??= chatRedisKeys());
}

let messageBucket: RateLimiter | undefined;
/** The user's message bucket, shared with the HTTP API. */
export function messageRate(): RateLimiter {
  return (messageBucket ??= messageRateLimiter(redis(), chatConfig().limits));
}

let newSessionBucket: RateLimiter | undefined;
/** The user's new-session bucket, at $connect. */
export function newSessionRate(): RateLimiter {
  return (newSessionBucket ??= newSessionRateLimiter(redis(), chatConfig().limits));
}

let cursors: SessionCursors | undefined;
/** listSessions' signed cursors. */
export function sessionCursors(): SessionCursors {
  if (cursors) return cursors;
  const secret = Resource.AuthSecret.value;
  if (!secret) chatLogger().warn("no AuthSecret: listSessions cursors are valid only in this instance");
  return (cursors = new SessionCursors(cursorKey(secret || randomBytes(32).toString("hex"))));
}

/** What retryMessage and regenerateReply need: the message, the queue and the user's bucket (no fan-out, no event). */
export function requeueDeps(): Pick<SubmitUserMessageDeps, "messages" | "sqs" | "queueUrl" | "messageRate" | "chatKeys"> {
  return { messages: messages(), ...jobQueue(), messageRate: messageRate(), chatKeys: chatKeys() };
}

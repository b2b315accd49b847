/**
 * `@azuchi/core/links`: one reader per kind of linked resource that both services use, so a
 * composition root (agent's deps.ts and http-deps.ts, chat's deps.ts) reads its links the same
 * way and the table names, the Redis endpoint and the queue's URL are put together once.
 *
 * Only the links every function with deps links (stacks/chat.ts chatDepsLinks, stacks/agent.ts
 * agentDepsLinks and the HTTP API's): test/infra/links.test.ts counts a `Resource.X` in any
 * file a handler imports as read, so a reader of AgentJobsDlq or OpenAiApiKey here would make
 * every chat route "read" a link it lacks. Those (and AuthSecret) are read where they are used.
 */
import type { RedisEndpoint } from "./redis-client.ts";
import { redisEndpoint } from "./redis-client.ts";
import { Resource, type Tables } from "./resources.ts";
import type { Env } from "./env.ts";

/** The four tables' names (Sessions, Connections, Messages, MessageIds). */
export function linkedTables(): Tables {
  return {
    sessions: Resource.Sessions.name,
    connections: Resource.Connections.name,
    messages: Resource.Messages.name,
    messageIds: Resource.MessageIds.name,
  };
}

/** The agent's Redis (AgentMemory), with TLS and cluster mode from the environment (redisEndpoint). */
export function linkedRedis(env: Env = process.env): RedisEndpoint {
  return redisEndpoint(Resource.AgentMemory, env);
}

/** The agent's job queue (AgentJobs). */
export function linkedJobsQueueUrl(): string {
  return Resource.AgentJobs.url;
}

/** The bus MessagePosted and the agent's events go to (Events). */
export function linkedBusName(): string {
  return Resource.Events.name;
}

/** The WebSocket API's @connections endpoint (ChatSocket), where frames to the tabs are posted. */
export function linkedSocketEndpoint(): string {
  return Resource.ChatSocket.managementEndpoint;
}

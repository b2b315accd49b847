import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { SessionLocks, type SessionLock } from "../../packages/agent/src/session-lock.ts";
import { redisKeys } from "../../packages/core/src/redis-keys.ts";
import type { RedisServer } from "../../packages/local/src/redis-server.ts";
import { startTestRedis } from "./redis.ts";

/** Takes a session's lock the way a turn does, for a fresh job; undefined when it is held. */
export async function acquire(locks: SessionLocks, sessionId: string, ttlMs?: number): Promise<SessionLock | undefined> {
  const begun = await locks.begin(sessionId, randomUUID(), randomUUID(), ttlMs);
  return begun.kind === "started" ? begun.lock : undefined;
}

/**
 * A private redis-server for the file, a client on it and the session locks over azuchi's keys;
 * the fields are filled in beforeAll.
 */
export function useTurnRedis() {
  const context = { redis: undefined as unknown as Redis, locks: undefined as unknown as SessionLocks, keys: redisKeys("azuchi") };
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startTestRedis();
    context.redis = new Redis(server.url);
    context.locks = new SessionLocks(context.redis, context.keys);
  });
  afterAll(async () => {
    context.redis?.disconnect();
    await server?.stop();
  });
  return context;
}

import { randomUUID } from "node:crypto";
import type { SessionLock } from "../../packages/agent/src/session-lock.ts";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { TurnState } from "../../packages/agent/src/turn-state.ts";
import { redisKeys } from "../../packages/core/src/redis-keys.ts";
import type { RedisServer } from "../../packages/local/src/redis-server.ts";
import { startTestRedis } from "./redis.ts";

/** Takes a session's lock the way a turn does, for a fresh job; undefined when it is held. */
export async function acquire(turns: TurnState, sessionId: string, ttlMs?: number): Promise<SessionLock | undefined> {
  const begun = await turns.begin(sessionId, randomUUID(), randomUUID(), ttlMs);
  return begun.kind === "started" ? begun.lock : undefined;
}

/**
 * A private redis-server for the file, a client on it and a TurnState over azuchi's keys;
 * the fields are filled in beforeAll.
 */
export function useTurnRedis() {
  const context = { redis: undefined as unknown as Redis, turns: undefined as unknown as TurnState, keys: redisKeys("azuchi") };
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startTestRedis();
    context.redis = new Redis(server.url);
    context.turns = new TurnState(context.redis, context.keys);
  });
  afterAll(async () => {
    context.redis?.disconnect();
    await server?.stop();
  });
  return context;
}

import { createHash } from "node:crypto";
import type { RedisClient } from "./redis-client.ts";

/** The name of every script defined in this process, by the SHA1 that EVALSHA carries (for measurement). */
export const definedScripts = new Map<string, string>();

/**
 * A Lua script as a typed function. ioredis' defineCommand runs it with EVALSHA and
 * falls back to EVAL when the server does not know it yet.
 */
export function defineScript<R>(redis: RedisClient, name: string, numberOfKeys: number, lua: string) {
  if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  definedScripts.set(createHash("sha1").update(lua).digest("hex"), name);
  const command = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<R>>)[name];
  if (!command) throw new Error(`script ${name} was not defined`);
  return (...args: (string | number)[]): Promise<R> => command.apply(redis, args);
}

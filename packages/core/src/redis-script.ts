import type { Redis } from "ioredis";

/**
 * A Lua script as a typed function. ioredis' defineCommand runs it with EVALSHA and
 * falls back to EVAL when the server does not know it yet.
 */
export function defineScript<R>(redis: Redis, name: string, numberOfKeys: number, lua: string) {
  if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  const command = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<R>>)[name];
  if (!command) throw new Error(`script ${name} was not defined`);
  return (...args: (string | number)[]): Promise<R> => command.apply(redis, args);
}

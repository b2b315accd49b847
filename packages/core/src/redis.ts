/** `@azuchi/core/redis`: the Redis client, key names, scripts, the rate limiter and the stop flag. */
export * from "./redis-keys.ts";
export * from "./redis-client.ts";
export * from "./redis-script.ts";
export * from "./rate-limiter.ts";
export * from "./stop-flag.ts";
export type { Redis } from "ioredis";

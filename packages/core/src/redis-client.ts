import { Redis } from "ioredis";

export interface RedisEndpoint {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** ElastiCache requires TLS; a local redis-server (sst dev, the local stack) has none. */
  tls: boolean;
}

/** A linked Redis resource as SST gives it (`Resource.AgentMemory`). */
export interface RedisLink {
  host: string;
  port: string | number;
  username?: string;
  password?: string;
}

/** Where a linked Redis is; with TLS unless AZUCHI_REDIS_TLS is "false" (a local redis-server under sst dev or the local stack). */
export function redisEndpoint(link: RedisLink, env: NodeJS.ProcessEnv = process.env): RedisEndpoint {
  return { host: link.host, port: Number(link.port), username: link.username, password: link.password, tls: env.AZUCHI_REDIS_TLS !== "false" };
}

/**
 * A Redis client for a Lambda: fail fast rather than queue commands while disconnected
 * (a turn must not hang on a dead Redis), and connect explicitly before the first command.
 */
export function createRedis(endpoint: RedisEndpoint): Redis {
  const redis = new Redis({
    host: endpoint.host,
    port: endpoint.port,
    username: endpoint.username || undefined,
    password: endpoint.password || undefined,
    tls: endpoint.tls ? {} : undefined,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 2,
    connectTimeout: 3_000,
    commandTimeout: 3_000,
  });
  // Without a listener an unreachable Redis crashes the process; the command that needed it fails instead.
  redis.on("error", () => undefined);
  return redis;
}

export class RedisUnavailableError extends Error {
  constructor(cause: unknown) {
    super("Redis is unavailable", { cause });
    this.name = "RedisUnavailableError";
  }
}

/** The wait of each client that is connecting: concurrent callers share it (and its one listener). */
const readyWaits = new WeakMap<Redis, Promise<void>>();

/** Resolves once the client can take commands (connecting it on first use). */
export async function ensureRedisReady(redis: Redis, timeoutMs = 3_000): Promise<void> {
  if (redis.status === "ready") return;
  try {
    if (redis.status === "wait" || redis.status === "end" || redis.status === "close") {
      await redis.connect();
      return;
    }
    let wait = readyWaits.get(redis);
    if (!wait) {
      wait = waitForReady(redis, timeoutMs).finally(() => readyWaits.delete(redis));
      readyWaits.set(redis, wait);
    }
    await wait;
  } catch (error) {
    throw new RedisUnavailableError(error);
  }
}

/** One `ready` listener, removed whichever way the wait ends: a client that stays down collects none. */
function waitForReady(redis: Redis, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      redis.removeListener("ready", onReady);
      reject(new Error(`not ready after ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    redis.once("ready", onReady);
  });
}

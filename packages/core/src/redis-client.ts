import { Cluster, Redis, type ChainableCommander } from "ioredis";
import { booleanFromEnv, type Env } from "./env.ts";

/** A single node or a Redis Cluster (ElastiCache cluster mode, Serverless, Valkey): the same commands either way. */
export type RedisClient = Redis | Cluster;

export interface RedisEndpoint {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** ElastiCache requires TLS; a local redis-server (sst dev, the local stack) has none. */
  tls: boolean;
  /**
   * A cluster-mode endpoint (AZUCHI_REDIS_CLUSTER=true): ioredis' Cluster client, which learns
   * the slots from this seed node and follows MOVED/ASK and failovers.
   */
  cluster?: boolean;
}

/** A linked Redis resource as SST gives it (`Resource.AgentMemory`). */
export interface RedisLink {
  host: string;
  port: string | number;
  username?: string;
  password?: string;
}

/**
 * Where a linked Redis is; with TLS unless AZUCHI_REDIS_TLS is "false" (a local redis-server
 * under sst dev or the local stack), in cluster mode when AZUCHI_REDIS_CLUSTER is "true" (the
 * stacks set both from the same choice that creates AgentMemory). Anything but "true" or
 * "false" in either is refused (core env.ts).
 */
export function redisEndpoint(link: RedisLink, env: Env = process.env): RedisEndpoint {
  return {
    host: link.host,
    port: Number(link.port),
    username: link.username,
    password: link.password,
    tls: booleanFromEnv("AZUCHI_REDIS_TLS", true, env),
    cluster: booleanFromEnv("AZUCHI_REDIS_CLUSTER", false, env),
  };
}

/**
 * A Redis client for a Lambda: fail fast rather than queue commands while disconnected
 * (a turn must not hang on a dead Redis), and connect explicitly before the first command.
 */
export function createRedis(endpoint: RedisEndpoint & { cluster?: false }): Redis;
export function createRedis(endpoint: RedisEndpoint): RedisClient;
export function createRedis(endpoint: RedisEndpoint): RedisClient {
  const connection = {
    username: endpoint.username || undefined,
    password: endpoint.password || undefined,
    tls: endpoint.tls ? {} : undefined,
    // ElastiCache documents RESP2; ioredis 6 would open with HELLO 3.
    protocol: 2 as const,
    maxRetriesPerRequest: 2,
    connectTimeout: 3_000,
    commandTimeout: 3_000,
  };
  const redis: RedisClient = endpoint.cluster
    ? new Cluster([{ host: endpoint.host, port: endpoint.port }], {
        redisOptions: connection,
        lazyConnect: true,
        enableOfflineQueue: false,
        // A failover takes the cluster's node timeout: retry MOVED / CLUSTERDOWN / TRYAGAIN for it
        // rather than fail the turn at once.
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        maxRedirections: 16,
        // ElastiCache's TLS certificate names the configuration endpoint, not the nodes' IPs.
        ...(endpoint.tls && { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) }),
      })
    : new Redis({ host: endpoint.host, port: endpoint.port, ...connection, lazyConnect: true, enableOfflineQueue: false });
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
const readyWaits = new WeakMap<RedisClient, Promise<void>>();

/** Resolves once the client can take commands (connecting it on first use). */
export async function ensureRedisReady(redis: RedisClient, timeoutMs = 3_000): Promise<void> {
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
function waitForReady(redis: RedisClient, timeoutMs: number): Promise<void> {
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

/**
 * Runs a MULTI and answers its commands' results. Redis answers a command it refused (out of
 * memory, say) inside the results, not by failing the call: that error is thrown here.
 */
export async function execMulti(multi: ChainableCommander): Promise<unknown[]> {
  const results = await multi.exec();
  if (results === null) throw new Error("the MULTI was discarded");
  for (const [error] of results) if (error) throw error;
  return results.map(([, value]) => value);
}

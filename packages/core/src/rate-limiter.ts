import type { RedisClient } from "./redis-client.ts";
import { ensureRedisReady, RedisUnavailableError } from "./redis-client.ts";
import { defineScript } from "./redis-script.ts";
import { positiveDecimalFromEnv, positiveIntFromEnv, type Env } from "./env.ts";
import { MAX_MESSAGE_CHARS } from "./message.ts";

export interface RateDecision {
  allowed: boolean;
  /** When refused: how long until one more is allowed. */
  retryAfterMs: number;
}

/**
 * A token bucket in one Lua call, so concurrent invocations for one user (several sockets,
 * the HTTP API, API Gateway running frames in parallel) cannot both take the last token. Time comes from
 * Redis' clock, not the callers', which may disagree. The bucket holds `burst` tokens and
 * refills `perSecond`; a full bucket is the same as none, so the key expires when full.
 */
const TOKEN_BUCKET = `
local burst = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2]) / 1000
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * perMs)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / perMs)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / perMs) + 1000)
return { allowed, wait }
`;

export class RateLimiter {
  private readonly redis: RedisClient;
  private readonly take: (...args: (string | number)[]) => Promise<[number, number]>;
  private readonly burst: number;
  private readonly perSecond: number;

  constructor(redis: RedisClient, options: { burst: number; perSecond: number }) {
    this.redis = redis;
    this.take = defineScript<[number, number]>(redis, "azuchiTokenBucket", 1, TOKEN_BUCKET);
    this.burst = options.burst;
    this.perSecond = options.perSecond;
  }

  /** Takes one token from the bucket at `key`; throws RedisUnavailableError when Redis cannot answer. */
  async consume(key: string): Promise<RateDecision> {
    await ensureRedisReady(this.redis);
    try {
      const [allowed, wait] = await this.take(key, this.burst, this.perSecond);
      return { allowed: allowed === 1, retryAfterMs: wait };
    } catch (error) {
      throw new RedisUnavailableError(error);
    }
  }
}

/**
 * What one user may do, whichever socket or API they use (docs/architecture.md §5). Each paid
 * model turn starts with an accepted message, so the limit is the user's, not a connection's.
 */
export interface UserLimits {
  /** AZUCHI_RATE_BURST: messages (WebSocket putMessage and HTTP generate together) a user may send at once. Default 10. */
  rateBurst: number;
  /** AZUCHI_RATE_PER_SECOND: messages per second a user may keep sending after the burst. Default 1. */
  ratePerSecond: number;
  /** AZUCHI_MAX_CONNECTIONS_PER_USER: open WebSockets a user may have; $connect refuses the next with 429. Default 20. */
  maxConnectionsPerUser: number;
  /** AZUCHI_MAX_NEW_SESSIONS_PER_HOUR: sessions a user may create per hour ($connect without sessionId; 429 beyond). Default 30. */
  maxNewSessionsPerHour: number;
}

export const DEFAULT_USER_LIMITS: UserLimits = { rateBurst: 10, ratePerSecond: 1, maxConnectionsPerUser: 20, maxNewSessionsPerHour: 30 };

/** The per-user limits from the environment (core env.ts: a bad value stops the service from starting). */
export function userLimitsFromEnv(env: Env = process.env): UserLimits {
  const d = DEFAULT_USER_LIMITS;
  return {
    rateBurst: positiveIntFromEnv("AZUCHI_RATE_BURST", d.rateBurst, env),
    ratePerSecond: positiveDecimalFromEnv("AZUCHI_RATE_PER_SECOND", d.ratePerSecond, env),
    maxConnectionsPerUser: positiveIntFromEnv("AZUCHI_MAX_CONNECTIONS_PER_USER", d.maxConnectionsPerUser, env),
    maxNewSessionsPerHour: positiveIntFromEnv("AZUCHI_MAX_NEW_SESSIONS_PER_HOUR", d.maxNewSessionsPerHour, env),
  };
}

/**
 * AZUCHI_MAX_MESSAGE_CHARS: the longest USER message either entry point takes (the WebSocket's
 * putMessage and the HTTP API), in characters. Default MAX_MESSAGE_CHARS.
 */
export function maxMessageCharsFromEnv(env: Env = process.env): number {
  return positiveIntFromEnv("AZUCHI_MAX_MESSAGE_CHARS", MAX_MESSAGE_CHARS, env);
}

/** The message bucket: `rateBurst`, refilled `ratePerSecond`. */
export function messageRateLimiter(redis: RedisClient, limits: UserLimits): RateLimiter {
  return new RateLimiter(redis, { burst: limits.rateBurst, perSecond: limits.ratePerSecond });
}

/** The new-session bucket: a full hour's allowance at once, refilled evenly over the hour. */
export function newSessionRateLimiter(redis: RedisClient, limits: UserLimits): RateLimiter {
  return new RateLimiter(redis, { burst: limits.maxNewSessionsPerHour, perSecond: limits.maxNewSessionsPerHour / 3600 });
}

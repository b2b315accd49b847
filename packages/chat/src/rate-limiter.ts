import { defineScript, ensureRedisReady, RedisUnavailableError } from "@azuchi/core";
import type { Redis } from "@azuchi/core";

export interface RateDecision {
  allowed: boolean;
  /** When refused: how long until one more is allowed. */
  retryAfterMs: number;
}

/**
 * A token bucket in one Lua call, so concurrent invocations for one connection (API
 * Gateway may run them in parallel) cannot both take the last token. Time comes from
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
  private readonly redis: Redis;
  private readonly take: (...args: (string | number)[]) => Promise<[number, number]>;
  private readonly burst: number;
  private readonly perSecond: number;

  constructor(redis: Redis, options: { burst: number; perSecond: number }) {
    this.redis = redis;
    this.take = defineScript<[number, number]>(redis, "azuchiChatTokenBucket", 1, TOKEN_BUCKET);
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

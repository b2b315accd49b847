import { randomUUID } from "node:crypto";
import { defineScript, ensureRedisReady, positiveIntFromEnv, redisPrefixFromEnv, type Env, type RedisClient } from "@azuchi/core";
import { consumerMaxConcurrency } from "./job-timing.ts";
import { ModelCallError } from "./turn-errors.ts";

/**
 * The model's rate limit, shared by every consumer through Redis (docs/architecture.md §3):
 * per model, how many calls may be in flight and how many tokens a minute may be spent. Each
 * consumer alone would learn OpenAI's limit from 429s, all at once in a burst; here a call waits
 * for its share before it is sent, and a burst queues for seconds instead of failing in a storm.
 *
 * Tokens are a bucket refilled at the per-minute rate. A call reserves an estimate (its input's
 * characters / 4, plus max_output_tokens: OpenAI counts a request against the limit before it
 * knows the answer) and settles with its real usage when done. OpenAI's `x-ratelimit-*-tokens`
 * headers correct the bucket: it never holds more than OpenAI says remain, and its size is the
 * smaller of the configured one and OpenAI's `x-ratelimit-limit-tokens`.
 */
export interface ModelLimits {
  /**
   * AZUCHI_MODEL_MAX_CALLS: model calls in flight at once, every consumer together (a turn makes
   * one at a time). Default 200, production's consumer cap (job-timing.ts): more turns never
   * run at once; a lower value leaves turns waiting inside the consumer, paid for, so lower it only
   * with the consumer's cap.
   */
  maxCalls: number;
  /**
   * AZUCHI_MODEL_TOKENS_PER_MINUTE: tokens a minute, input and output. Default 2,000,000: set
   * your organisation's; a smaller x-ratelimit-limit-tokens from OpenAI lowers it anyway.
   */
  tokensPerMinute: number;
  /** AZUCHI_MODEL_MAX_WAIT_MS: longest a call waits for its share; then it fails as rate-limited and the job is retried. Default 30 s. */
  maxWaitMs: number;
}

export const DEFAULT_MODEL_LIMITS: ModelLimits = { maxCalls: consumerMaxConcurrency(true), tokensPerMinute: 2_000_000, maxWaitMs: 30_000 };

/** A call's lease outlives no crash: one not released frees itself after this. */
const LEASE_MS = 120_000;
/** Waiters look again at least this often: a released call frees a place before its lease ends. */
const MAX_POLL_MS = 250;

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS: the calls in flight (ZSET lease -> expiry), the token bucket (HASH). ARGV: lease, lease
// ms, max calls, configured tokens/minute, estimate. Answers {1, 0} taken, {0, 0} every place
// taken (one frees when a call ends: unknown when), or {0, ms until the bucket holds the estimate}.
const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return {0, 0}
end
local state = redis.call('HMGET', KEYS[2], 'tokens', 'at', 'observed')
local capacity = math.min(tonumber(ARGV[4]), tonumber(state[3]) or math.huge)
local perMs = capacity / 60000
local tokens = math.min(capacity, (tonumber(state[1]) or capacity) + math.max(0, now - (tonumber(state[2]) or now)) * perMs)
-- A call bigger than the whole bucket waits for a full one rather than for ever.
local estimate = math.min(tonumber(ARGV[5]), capacity)
local taken = tokens >= estimate
if taken then tokens = tokens - estimate end
redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[2], 120000)
if not taken then return {0, math.ceil((estimate - tokens) / perMs)} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 1000)
return {1, 0}`;

// ARGV: lease, tokens to give back (the estimate less the real usage; negative when it was
// more), then OpenAI's x-ratelimit-limit-tokens and x-ratelimit-remaining-tokens (either may be
// ''): the bucket never holds more than OpenAI said remain. One round trip ends a call.
const RELEASE = `${NOW}
redis.call('ZREM', KEYS[1], ARGV[1])
local tokens = tonumber(redis.call('HGET', KEYS[2], 'tokens'))
if tokens then
  tokens = tokens + tonumber(ARGV[2])
  redis.call('HSET', KEYS[2], 'tokens', tostring(tokens))
end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], 'observed', ARGV[3]) end
if ARGV[4] ~= '' and (not tokens or tonumber(ARGV[4]) < tokens) then redis.call('HSET', KEYS[2], 'tokens', ARGV[4], 'at', now) end
redis.call('PEXPIRE', KEYS[2], 120000)
return 1`;

/** One call's share: note what OpenAI said of the limit, then release it with the real usage. */
export interface ModelLease {
  /** The tokens it reserved: a call estimated at more needs a share of its own. */
  estimate: number;
  /** How long the call waited for its share (0: at once). */
  waitedMs: number;
  /** Keeps the response's x-ratelimit-*-tokens headers, written with the release (no round trip of its own). */
  observe(headers: Headers): void;
  /** Ends the call (once: a later release does nothing); `usedTokens` 0 gives the whole estimate back. */
  release(usedTokens: number | undefined): Promise<void>;
}

export interface ModelLimitKeys {
  calls(model: string): string;
  tokens(model: string): string;
}

/** The model's own hash tag: both keys of a script share one slot on Redis Cluster. */
export function modelLimitKeys(appPrefix = redisPrefixFromEnv()): ModelLimitKeys {
  const base = `${appPrefix}:ai-agent:model`;
  return { calls: (model) => `${base}:{${model}}:calls`, tokens: (model) => `${base}:{${model}}:tokens` };
}

export class ModelLimiter {
  private readonly redis: RedisClient;
  private readonly limits: ModelLimits;
  private readonly keys: ModelLimitKeys;
  private readonly acquireScript;
  private readonly releaseScript;

  constructor(redis: RedisClient, limits: ModelLimits = DEFAULT_MODEL_LIMITS, keys = modelLimitKeys()) {
    this.redis = redis;
    this.limits = limits;
    this.keys = keys;
    this.acquireScript = defineScript<[number, number]>(redis, "azuchiModelAcquire", 2, ACQUIRE);
    this.releaseScript = defineScript<number>(redis, "azuchiModelRelease", 2, RELEASE);
  }

  /**
   * Waits for a place and `estimate` tokens for one call to `model`. `onWait` hears once, with
   * the first wait's expected length (a poll's when waiting for a place), that the call is held back. Past maxWaitMs it throws a retryable
   * ModelCallError("rate-limited"): the job is retried later, nothing lost.
   */
  async acquire(model: string, estimate: number, options: { onWait?: (waitMs: number) => Promise<void> | void; signal?: AbortSignal } = {}): Promise<ModelLease> {
    await ensureRedisReady(this.redis);
    const keys = this.keysOf(model);
    const lease = randomUUID();
    const started = Date.now();
    let told = false;
    for (;;) {
      options.signal?.throwIfAborted();
      const [taken, tokenWaitMs] = await this.ask(keys, lease, estimate);
      if (taken === 1) break;
      const waited = Date.now() - started;
      // A place frees when some call ends; tokens when the bucket has refilled, known in advance.
      const waitMs = tokenWaitMs > 0 ? tokenWaitMs : MAX_POLL_MS;
      if (waited + (tokenWaitMs > 0 ? tokenWaitMs : 0) > this.limits.maxWaitMs || waited >= this.limits.maxWaitMs) {
        throw new ModelCallError("rate-limited", { message: `the shared model limit (${this.limits.maxCalls} calls, ${this.limits.tokensPerMinute} tokens a minute) held the call ${waited} ms, ${waitMs} ms more needed`, retryAfterMs: waitMs });
      }
      if (!told) {
        told = true;
        await options.onWait?.(waitMs);
      }
      await sleep(Math.min(waitMs, MAX_POLL_MS) + Math.floor(Math.random() * 20), options.signal);
    }
    // Taken at the first ask: no wait, however long the round trip.
    return this.lease(keys, lease, estimate, told ? Date.now() - started : 0);
  }

  /**
   * One ask, no wait: the share if it is free now, else undefined (then acquire() waits for it).
   * A turn asks so beside its start, before it knows it will run: what it does not use it releases.
   */
  async tryAcquire(model: string, estimate: number): Promise<ModelLease | undefined> {
    await ensureRedisReady(this.redis);
    const keys = this.keysOf(model);
    const lease = randomUUID();
    const [taken] = await this.ask(keys, lease, estimate);
    return taken === 1 ? this.lease(keys, lease, estimate, 0) : undefined;
  }

  private keysOf(model: string): readonly [string, string] {
    return [this.keys.calls(model), this.keys.tokens(model)];
  }

  /** One round trip of the acquire script: [1, …] when the share is taken, else [0, ms until the tokens refill (0: a place must free)]. */
  private ask(keys: readonly [string, string], lease: string, estimate: number): Promise<[number, number]> {
    return this.acquireScript(...keys, lease, LEASE_MS, this.limits.maxCalls, this.limits.tokensPerMinute, estimate);
  }

  private lease(keys: readonly [string, string], lease: string, estimate: number, waitedMs: number): ModelLease {
    let released = false;
    let limit = "";
    let remaining = "";
    return {
      estimate,
      waitedMs,
      observe: (headers) => {
        limit = numeric(headers.get("x-ratelimit-limit-tokens") ?? "") || limit;
        remaining = numeric(headers.get("x-ratelimit-remaining-tokens") ?? "") || remaining;
      },
      release: async (usedTokens) => {
        if (released) return;
        released = true;
        await this.releaseScript(...keys, lease, usedTokens === undefined ? 0 : estimate - usedTokens, limit, remaining);
      },
    };
  }
}

/** What a call is counted for before it is answered: its input's characters / 4, and all the output it may write. */
export function estimateTokens(input: unknown, maxOutputTokens: number): number {
  return Math.ceil(JSON.stringify(input).length / 4) + maxOutputTokens;
}

export function modelLimitsFromEnvironment(env: Env = process.env): ModelLimits {
  return {
    maxCalls: positiveIntFromEnv("AZUCHI_MODEL_MAX_CALLS", DEFAULT_MODEL_LIMITS.maxCalls, env),
    tokensPerMinute: positiveIntFromEnv("AZUCHI_MODEL_TOKENS_PER_MINUTE", DEFAULT_MODEL_LIMITS.tokensPerMinute, env),
    maxWaitMs: positiveIntFromEnv("AZUCHI_MODEL_MAX_WAIT_MS", DEFAULT_MODEL_LIMITS.maxWaitMs, env),
  };
}

function numeric(text: string): string {
  return /^\d+$/.test(text) ? text : "";
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (signal?.removeEventListener("abort", onAbort), resolve()), ms);
    const onAbort = () => (clearTimeout(timer), reject(signal!.reason));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

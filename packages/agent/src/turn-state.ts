import type { RedisClient } from "@azuchi/core";
import { clearStop, defineScript, type RedisKeys } from "@azuchi/core";
import { MEMORY_TTL_SECONDS } from "./history.ts";
import { ACQUIRE_LOCK_LUA, LOCK_TTL_MS, RELEASE_LOCK, RENEW_LOCK_LUA, type SessionLock } from "./session-lock.ts";

/** Attempt counters outlive any redelivery of their job (SQS keeps a message 14 days at most). */
const ATTEMPTS_TTL_SECONDS = 15 * 24 * 3600;

// One round trip starts a turn: skip a completed job, take the lock with a fencing token
// (SET NX PX, the token from the session's counter), and read the job's failed attempts so
// far, previous_response_id and the stop flag. A busy lock answers with the time it has left.
const BEGIN_TURN = `${ACQUIRE_LOCK_LUA}
if redis.call('GET', KEYS[3]) == 'completed' then return {-1} end
local token = acquire_lock(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if not token then return {0, redis.call('PTTL', KEYS[1])} end
return {token, tonumber(redis.call('GET', KEYS[4]) or '0'), redis.call('GET', KEYS[5]), redis.call('GET', KEYS[6])}`;

// One round trip keeps a turn alive: renew the lock if it is still ours, and read the stop flag.
const HEARTBEAT = `${RENEW_LOCK_LUA}
return {renew_lock(KEYS[1], ARGV[1], ARGV[2]), redis.call('GET', KEYS[2])}`;

export type TurnStart =
  | { kind: "duplicate" }
  /** Another turn holds the lock for `retryAfterMs` more at most. */
  | { kind: "busy"; retryAfterMs: number }
  /**
   * `attempt` is this one's number: the job's failed attempts so far, plus one.
   * `stopRequestedAt`: a pending stop request, if any (the turn decides whether it is its own).
   */
  | { kind: "started"; lock: SessionLock; attempt: number; previousResponseId: string | undefined; stopRequestedAt: number | undefined };

export interface Heartbeat {
  held: boolean;
  /** When a stop was requested (epoch ms), if one is pending. */
  stopRequestedAt: number | undefined;
}

export class TurnState {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  /** The lock's lifetime, renewed by every heartbeat. */
  readonly lockTtlMs: number;
  private readonly beginScript;
  private readonly heartbeatScript;
  private readonly releaseScript;

  constructor(redis: RedisClient, keys: RedisKeys, lockTtlMs = LOCK_TTL_MS) {
    this.redis = redis;
    this.keys = keys;
    this.lockTtlMs = lockTtlMs;
    this.beginScript = defineScript<[number, number?, string?, string?]>(redis, "azuchiBeginTurn", 6, BEGIN_TURN);
    this.heartbeatScript = defineScript<[number, string | null]>(redis, "azuchiHeartbeat", 2, HEARTBEAT);
    this.releaseScript = defineScript<number>(redis, "azuchiReleaseLock", 1, RELEASE_LOCK);
  }

  /**
   * `sqsMessageId` is the delivery's message: attempts are counted per SQS message, the same on
   * every receive of it, new for a job replayed or redriven from the dead-letter queue (however
   * it got there: given up by the agent, or moved by the redrive policy with its count unspent).
   */
  async begin(sessionId: string, jobId: string, sqsMessageId: string, ttlMs = this.lockTtlMs): Promise<TurnStart> {
    const [token, attempt, previousResponseId, stop] = await this.beginScript(
      this.keys.sessionLock(sessionId),
      this.keys.fence(sessionId),
      this.keys.job(sessionId, jobId),
      this.keys.jobAttempts(sessionId, jobId, sqsMessageId),
      this.keys.previousResponseId(sessionId),
      this.keys.stop(sessionId),
      ttlMs,
      MEMORY_TTL_SECONDS,
    );
    if (token === -1) return { kind: "duplicate" };
    if (token === 0) return { kind: "busy", retryAfterMs: Math.max(0, Number(attempt)) };
    return {
      kind: "started",
      lock: { sessionId, token: Number(token) },
      attempt: Number(attempt) + 1,
      previousResponseId: previousResponseId ?? undefined,
      stopRequestedAt: stop == null ? undefined : Number(stop),
    };
  }

  async heartbeat(lock: SessionLock, ttlMs = this.lockTtlMs): Promise<Heartbeat> {
    const [held, stop] = await this.heartbeatScript(this.keys.sessionLock(lock.sessionId), this.keys.stop(lock.sessionId), lock.token, ttlMs);
    return { held: held === 1, stopRequestedAt: stop === null ? undefined : Number(stop) };
  }

  /** Whether the job's turn was written (its memory and completion), e.g. by an attempt that then crashed. */
  async isCompleted(sessionId: string, jobId: string): Promise<boolean> {
    return (await this.redis.get(this.keys.job(sessionId, jobId))) === "completed";
  }

  /** Forgets a stop request: the job it was meant for has been given up. */
  async clearStop(sessionId: string): Promise<void> {
    await clearStop(this.redis, this.keys, sessionId);
  }

  /** Counts a failed attempt of the job's SQS message; the count is what the next attempt is numbered after. */
  async countFailure(sessionId: string, jobId: string, sqsMessageId: string): Promise<number> {
    const key = this.keys.jobAttempts(sessionId, jobId, sqsMessageId);
    const [[error, count]] = (await this.redis.multi().incr(key).expire(key, ATTEMPTS_TTL_SECONDS).exec()) as [[Error | null, number], unknown];
    // A MULTI answers a refused command (out of memory, say) inside its results, not by throwing.
    if (error) throw error;
    return Number(count);
  }

  /** Releases the lock if it is still this turn's (Lua: DEL only when the value is our token). */
  async releaseLock(lock: SessionLock): Promise<boolean> {
    return (await this.releaseScript(this.keys.sessionLock(lock.sessionId), lock.token)) === 1;
  }
}

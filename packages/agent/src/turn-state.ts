import type { Redis } from "ioredis";
import { defineScript, type RedisKeys } from "@azuchi/core";
import { ACQUIRE_LOCK_LUA, LOCK_TTL_MS, RELEASE_LOCK, RENEW_LOCK_LUA, type SessionLock } from "./session-lock.ts";

/** Attempt counters outlive any redelivery of their job (SQS keeps a message 14 days at most). */
const ATTEMPTS_TTL_SECONDS = 15 * 24 * 3600;

// One round trip starts a turn: skip a completed job, take the lock with a fencing token
// (SET NX PX, the token from the session's counter), count the attempt, and read
// previous_response_id.
const BEGIN_TURN = `${ACQUIRE_LOCK_LUA}
if redis.call('GET', KEYS[3]) == 'completed' then return {-1} end
local token = acquire_lock(KEYS[1], KEYS[2], ARGV[1])
if not token then return {0} end
local attempt = redis.call('INCR', KEYS[4])
redis.call('EXPIRE', KEYS[4], ARGV[2])
return {token, attempt, redis.call('GET', KEYS[5])}`;

// One round trip keeps a turn alive: renew the lock if it is still ours, and read the stop flag.
const HEARTBEAT = `${RENEW_LOCK_LUA}
return {renew_lock(KEYS[1], ARGV[1], ARGV[2]), redis.call('GET', KEYS[2])}`;

export type TurnStart =
  | { kind: "duplicate" }
  | { kind: "busy" }
  | { kind: "started"; lock: SessionLock; attempt: number; previousResponseId: string | undefined };

export interface Heartbeat {
  held: boolean;
  /** When a stop was requested (epoch ms), if one is pending. */
  stopRequestedAt: number | undefined;
}

export class TurnState {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly beginScript;
  private readonly heartbeatScript;
  private readonly releaseScript;

  constructor(redis: Redis, keys: RedisKeys) {
    this.redis = redis;
    this.keys = keys;
    this.beginScript = defineScript<[number, number?, string?]>(redis, "azuchiBeginTurn", 5, BEGIN_TURN);
    this.heartbeatScript = defineScript<[number, string | null]>(redis, "azuchiHeartbeat", 2, HEARTBEAT);
    this.releaseScript = defineScript<number>(redis, "azuchiReleaseLock", 1, RELEASE_LOCK);
  }

  async begin(sessionId: string, jobId: string, ttlMs = LOCK_TTL_MS): Promise<TurnStart> {
    const [token, attempt, previousResponseId] = await this.beginScript(
      this.keys.sessionLock(sessionId),
      this.keys.fence(sessionId),
      this.keys.job(jobId),
      this.keys.jobAttempts(jobId),
      this.keys.previousResponseId(sessionId),
      ttlMs,
      ATTEMPTS_TTL_SECONDS,
    );
    if (token === -1) return { kind: "duplicate" };
    if (token === 0) return { kind: "busy" };
    return { kind: "started", lock: { sessionId, token: Number(token) }, attempt: Number(attempt), previousResponseId: previousResponseId ?? undefined };
  }

  async heartbeat(lock: SessionLock, ttlMs = LOCK_TTL_MS): Promise<Heartbeat> {
    const [held, stop] = await this.heartbeatScript(this.keys.sessionLock(lock.sessionId), this.keys.stop(lock.sessionId), lock.token, ttlMs);
    return { held: held === 1, stopRequestedAt: stop === null ? undefined : Number(stop) };
  }

  /** Clears a stop flag this turn has obeyed, unless a newer request replaced it. */
  async clearStop(sessionId: string, requestedAt: number): Promise<void> {
    const key = this.keys.stop(sessionId);
    if ((await this.redis.get(key)) === String(requestedAt)) await this.redis.del(key);
  }

  /** Releases the lock if it is still this turn's (Lua: DEL only when the value is our token). */
  async releaseLock(lock: SessionLock): Promise<boolean> {
    return (await this.releaseScript(this.keys.sessionLock(lock.sessionId), lock.token)) === 1;
  }

  /** Forgets a job's attempts, so a job replayed from the dead-letter queue starts afresh. */
  async resetAttempts(jobId: string): Promise<void> {
    await this.redis.del(this.keys.jobAttempts(jobId));
  }
}

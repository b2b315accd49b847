import type { RedisClient, RedisKeys } from "@azuchi/core";
import { defineScript, STOP_FLAG_LUA } from "@azuchi/core";
import { DEFAULT_LOCK_TTL_MS } from "./defaults.ts";
import { MEMORY_TTL_SECONDS, PREVIOUS_RESPONSE_LUA } from "./conversation-memory.ts";
import { JOB_ATTEMPTS_LUA } from "./job-attempts.ts";
import { JOB_RECORD_LUA } from "./job-record.ts";

/**
 * The per-session lock (docs/architecture.md §3): `SET key token NX PX 30000`, the token a
 * fencing number from the session's `fence` counter, renewed while a turn runs and released
 * only by its owner. It is taken here, in the turn's start, renewed by the turn's heartbeat and
 * released here; a turn's memory write is fenced by it (conversation-memory.ts).
 */

export interface SessionLock {
  sessionId: string;
  /** The fencing token: the lock's value, monotonic per session. */
  token: number;
}

/**
 * acquire_lock: lock key, fence key, lock ttl (ms), fence ttl (s) → the new token, or nil when
 * the lock is held. The fence slides with the session's memory; one that was lost (expired, or
 * a failover to an empty node) restarts from Redis's clock in microseconds, above any token it
 * issued before — a turn more than once a microsecond would be needed to catch up — so a stale
 * holder's token never equals a new one.
 *
 * renew_lock: PEXPIRE only if the lock's value is the caller's token.
 */
const LOCK_LUA = `
local function acquire_lock(lock_key, fence_key, ttl, fence_ttl)
  if redis.call('EXISTS', lock_key) == 1 then return nil end
  if redis.call('EXISTS', fence_key) == 0 then
    local now = redis.call('TIME')
    redis.call('SET', fence_key, string.format('%.0f', tonumber(now[1]) * 1000000 + tonumber(now[2])))
  end
  local token = redis.call('INCR', fence_key)
  redis.call('EXPIRE', fence_key, fence_ttl)
  redis.call('SET', lock_key, token, 'PX', ttl)
  return token
end
local function renew_lock(lock_key, token, ttl)
  if redis.call('GET', lock_key) == token then return redis.call('PEXPIRE', lock_key, ttl) end
  return 0
end`;

/**
 * The turn's end, in one round trip: DEL the lock only if its value is the caller's token, and,
 * when the caller has published the events of a written turn (ARGV[2] = 1), mark its job
 * completed (job-record.ts), whether or not the lock was still its own: the events went out.
 */
const RELEASE_LOCK = `${JOB_RECORD_LUA}
if ARGV[2] == '1' then mark_job_completed(KEYS[2]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

// The turn's start, in one round trip (issue 12's budget): skip a completed job and say whether it is written (job-record.ts),
// take the lock with a fencing token, and read what the turn needs to begin — the job's failed
// attempts so far (job-attempts.ts), previous_response_id (conversation-memory.ts) and the stop
// flag (stop-flag.ts in core). A busy lock answers with the time it has left.
const BEGIN_TURN = `${LOCK_LUA}${JOB_RECORD_LUA}${JOB_ATTEMPTS_LUA}${PREVIOUS_RESPONSE_LUA}${STOP_FLAG_LUA}
if job_completed(KEYS[3]) then return {-1} end
local token = acquire_lock(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if not token then return {0, redis.call('PTTL', KEYS[1])} end
return {token, failed_attempts(KEYS[4]), previous_response_id(KEYS[5]), stop_requested_at(KEYS[6]), job_written(KEYS[3]) and 1 or 0}`;

// The turn's heartbeat, in one round trip: renew the lock if it is still ours, and read the stop flag.
const HEARTBEAT = `${LOCK_LUA}${STOP_FLAG_LUA}
return {renew_lock(KEYS[1], ARGV[1], ARGV[2]), stop_requested_at(KEYS[2])}`;

export type TurnStart =
  | { kind: "duplicate" }
  /** Another turn holds the lock for `retryAfterMs` more at most. */
  | { kind: "busy"; retryAfterMs: number }
  /**
   * `attempt` is this one's number: the job's failed attempts so far, plus one.
   * `stopRequestedAt`: a pending stop request, if any (the turn decides whether it is its own).
   * `written`: an earlier delivery wrote the job's turn and ended before its events (job-record.ts).
   */
  | { kind: "started"; lock: SessionLock; attempt: number; previousResponseId: string | undefined; stopRequestedAt: number | undefined; written: boolean };

export interface Heartbeat {
  held: boolean;
  /** When a stop was requested (epoch ms), if one is pending. */
  stopRequestedAt: number | undefined;
}

/** The sessions' locks: taken by a turn's start, renewed by its heartbeat, released by its end. */
export class SessionLocks {
  private readonly keys: RedisKeys;
  /** The lock's lifetime, renewed by every heartbeat. */
  readonly ttlMs: number;
  private readonly beginScript;
  private readonly heartbeatScript;
  private readonly releaseScript;

  constructor(redis: RedisClient, keys: RedisKeys, ttlMs = DEFAULT_LOCK_TTL_MS) {
    this.keys = keys;
    this.ttlMs = ttlMs;
    this.beginScript = defineScript<[number, number?, string?, string?, number?]>(redis, "azuchiBeginTurn", 6, BEGIN_TURN);
    this.heartbeatScript = defineScript<[number, string | null]>(redis, "azuchiHeartbeat", 2, HEARTBEAT);
    this.releaseScript = defineScript<number>(redis, "azuchiReleaseLock", 2, RELEASE_LOCK);
  }

  /**
   * Starts a turn: takes the lock unless the job is completed or the lock held. `sqsMessageId`
   * is the delivery's message, whose failed attempts are read (job-attempts.ts).
   */
  async begin(sessionId: string, jobId: string, sqsMessageId: string, ttlMs = this.ttlMs): Promise<TurnStart> {
    const [token, attempt, previousResponseId, stop, written] = await this.beginScript(
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
      written: written === 1,
    };
  }

  async heartbeat(lock: SessionLock, ttlMs = this.ttlMs): Promise<Heartbeat> {
    const [held, stop] = await this.heartbeatScript(this.keys.sessionLock(lock.sessionId), this.keys.stop(lock.sessionId), lock.token, ttlMs);
    return { held: held === 1, stopRequestedAt: stop === null ? undefined : Number(stop) };
  }

  /**
   * Releases the lock if it is still this turn's (Lua: DEL only when the value is our token);
   * with `completedJobId`, whose written turn's events were published, marks that job completed.
   */
  async releaseLock(lock: SessionLock, completedJobId?: string): Promise<boolean> {
    const job = this.keys.job(lock.sessionId, completedJobId ?? "");
    return (await this.releaseScript(this.keys.sessionLock(lock.sessionId), job, lock.token, completedJobId === undefined ? 0 : 1)) === 1;
  }
}

import type { Redis } from "ioredis";
import type { RedisKeys } from "@azuchi/core";
import { defineScript } from "@azuchi/core";

/** The lock's lifetime; a running turn renews it, so only a crashed turn holds it this long. */
export const LOCK_TTL_MS = 30_000;

// Acquire = SET NX PX with a fencing token from the session's counter, in one atomic call:
// a turn that later lost the lock carries a smaller token than whoever holds it now.
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[1])
return token`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

export interface SessionLock {
  sessionId: string;
  /** The fencing token: the lock's value, monotonic per session. */
  token: number;
}

export class SessionLocks {
  private readonly keys: RedisKeys;
  private readonly acquireScript;
  private readonly releaseScript;
  private readonly renewScript;

  constructor(redis: Redis, keys: RedisKeys) {
    this.keys = keys;
    this.acquireScript = defineScript<number | null>(redis, "azuchiAcquireLock", 2, ACQUIRE);
    this.releaseScript = defineScript<number>(redis, "azuchiReleaseLock", 1, RELEASE);
    this.renewScript = defineScript<number>(redis, "azuchiRenewLock", 1, RENEW);
  }

  /** The lock, or undefined when another turn holds it. */
  async acquire(sessionId: string, ttlMs = LOCK_TTL_MS): Promise<SessionLock | undefined> {
    const token = await this.acquireScript(this.keys.sessionLock(sessionId), this.keys.fence(sessionId), ttlMs);
    return token === null ? undefined : { sessionId, token: Number(token) };
  }

  /** Releases the lock if it is still ours; false when it had expired or passed to another turn. */
  async release(lock: SessionLock): Promise<boolean> {
    return (await this.releaseScript(this.keys.sessionLock(lock.sessionId), lock.token)) === 1;
  }

  /** Extends the lock if it is still ours; false means the turn has lost it and must stop. */
  async renew(lock: SessionLock, ttlMs = LOCK_TTL_MS): Promise<boolean> {
    return (await this.renewScript(this.keys.sessionLock(lock.sessionId), lock.token, ttlMs)) === 1;
  }
}

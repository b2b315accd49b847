/**
 * The per-session lock (ARCHITECTURE.md §3): `SET key token NX PX 30000`, the token a
 * fencing number from the session's `fence` counter, renewed while a turn runs and released
 * only by its owner. The Lua here runs inside TurnState's scripts, which combine it with the
 * turn's other reads so a turn costs few round trips.
 */

/** The lock's lifetime; a running turn renews it, so only a crashed turn holds it this long. */
export const LOCK_TTL_MS = 30_000;

export interface SessionLock {
  sessionId: string;
  /** The fencing token: the lock's value, monotonic per session. */
  token: number;
}

/** KEYS[lock], KEYS[fence], ARGV[ttl ms] → the new token, or nil when the lock is held. */
export const ACQUIRE_LOCK_LUA = `
local function acquire_lock(lock_key, fence_key, ttl)
  if redis.call('EXISTS', lock_key) == 1 then return nil end
  local token = redis.call('INCR', fence_key)
  redis.call('SET', lock_key, token, 'PX', ttl)
  return token
end`;

/** DEL only if the lock's value is the caller's token. */
export const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** PEXPIRE only if the lock's value is the caller's token. */
export const RENEW_LOCK_LUA = `
local function renew_lock(lock_key, token, ttl)
  if redis.call('GET', lock_key) == token then return redis.call('PEXPIRE', lock_key, ttl) end
  return 0
end`;

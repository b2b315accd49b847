/**
 * The per-session lock (docs/architecture.md §3): `SET key token NX PX 30000`, the token a
 * fencing number from the session's `fence` counter, renewed while a turn runs and released
 * only by its owner. The Lua here runs inside TurnState's scripts, which combine it with the
 * turn's other reads so a turn costs few round trips.
 */

/** The lock's lifetime (AZUCHI_LOCK_TTL_MS); a running turn renews it, so only a crashed turn holds it this long. */
export const LOCK_TTL_MS = 30_000;

export interface SessionLock {
  sessionId: string;
  /** The fencing token: the lock's value, monotonic per session. */
  token: number;
}

/**
 * lock key, fence key, lock ttl (ms), fence ttl (s) → the new token, or nil when the lock is
 * held. The fence slides with the session's memory; one that was lost (expired, or a failover
 * to an empty node) restarts from Redis's clock in microseconds, above any token it issued
 * before — a turn more than once a microsecond would be needed to catch up — so a stale
 * holder's token never equals a new one.
 */
export const ACQUIRE_LOCK_LUA = `
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
end`;

/** DEL only if the lock's value is the caller's token. */
export const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** PEXPIRE only if the lock's value is the caller's token. */
export const RENEW_LOCK_LUA = `
local function renew_lock(lock_key, token, ttl)
  if redis.call('GET', lock_key) == token then return redis.call('PEXPIRE', lock_key, ttl) end
  return 0
end`;

/**
 * A job's completion record (`RedisKeys.job`): `completed` once its turn was written, so a
 * redelivered job is answered once only. The mark is written by the turn's fenced memory write
 * (conversation-memory.ts), inside that script so the memory and the mark land together or not
 * at all; a turn's start reads it in its one round trip (session-lock.ts) and skips the job. Nothing
 * else reads it: both live in Lua, so only the Lua is here. It is kept as long as a delivery of
 * the job may come (core's OUTLIVES_JOB_SECONDS).
 */

const COMPLETED = "completed";

/** The record in Lua, for the scripts that read or write it in their round trip. */
export const JOB_RECORD_LUA = `
local function job_completed(job_key) return redis.call('GET', job_key) == '${COMPLETED}' end
local function mark_job_completed(job_key, ttl) redis.call('SET', job_key, '${COMPLETED}', 'EX', ttl) end`;


/**
 * A job's record (`RedisKeys.job`), so a redelivered job is answered once only and announced
 * once only:
 * - `written` once its turn was written: the reply stored and shown, the memory written. The
 *   mark is written by the turn's fenced memory write (conversation-memory.ts), inside that
 *   script so the memory and the mark land together or not at all.
 * - `completed` once, after that, the turn's events were published: set by the lock's release
 *   (session-lock.ts), in its round trip.
 * A turn's start reads it in its one round trip (session-lock.ts): a completed job is skipped;
 * a written one is only announced (its delivery ended between the memory write and the events,
 * a killed instance). Nothing else reads it: both live in Lua, so only the Lua is here. It is
 * kept as long as a delivery of the job may come (core's OUTLIVES_JOB_SECONDS).
 */

const WRITTEN = "written";
const COMPLETED = "completed";

/** The record in Lua, for the scripts that read or write it in their round trip. */
export const JOB_RECORD_LUA = `
local function job_completed(job_key) return redis.call('GET', job_key) == '${COMPLETED}' end
local function job_written(job_key) return redis.call('GET', job_key) == '${WRITTEN}' end
local function mark_job_written(job_key, ttl) redis.call('SET', job_key, '${WRITTEN}', 'EX', ttl) end
local function mark_job_completed(job_key) if job_written(job_key) then redis.call('SET', job_key, '${COMPLETED}', 'KEEPTTL') end end`;

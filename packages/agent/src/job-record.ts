import type { RedisClient, RedisKeys } from "@azuchi/core";

/**
 * A job's completion record (`RedisKeys.job`): `completed` once its turn was written, so a
 * redelivered job is answered once only. The mark is written by the turn's fenced memory write
 * (conversation-memory.ts), inside that script so the memory and the mark land together or not
 * at all; a turn's start reads it in its one round trip (session-lock.ts) and skips the job.
 */

/** A completed job is remembered longer than SQS can hold and redeliver it (14 days). */
export const JOB_RECORD_TTL_SECONDS = 15 * 24 * 3600;

const COMPLETED = "completed";

/** The record in Lua, for the scripts that read or write it in their round trip. */
export const JOB_RECORD_LUA = `
local function job_completed(job_key) return redis.call('GET', job_key) == '${COMPLETED}' end
local function mark_job_completed(job_key, ttl) redis.call('SET', job_key, '${COMPLETED}', 'EX', ttl) end`;

/** Whether the job's turn was written (its memory and completion), e.g. by an attempt that then crashed. */
export async function isJobCompleted(redis: RedisClient, keys: Pick<RedisKeys, "job">, sessionId: string, jobId: string): Promise<boolean> {
  return (await redis.get(keys.job(sessionId, jobId))) === COMPLETED;
}

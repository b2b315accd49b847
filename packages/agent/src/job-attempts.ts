import { execMulti, OUTLIVES_JOB_SECONDS, type RedisClient, type RedisKeys } from "@azuchi/core";

/**
 * A job's failed attempts (`RedisKeys.jobAttempts`), counted per SQS message: the same on every
 * receive of it, new for a job replayed or redriven from the dead-letter queue (however it got
 * there: given up by the agent, or moved by the redrive policy with its count unspent). The
 * consumer counts a failure; a turn's start reads the count in its one round trip
 * (session-lock.ts) and numbers its attempt after it.
 */

/** The count in Lua, for the turn's start: 0 before any failure. */
export const JOB_ATTEMPTS_LUA = `
local function failed_attempts(attempts_key) return tonumber(redis.call('GET', attempts_key) or '0') end`;

/** Counts a failed attempt of the job's SQS message; the count is what the next attempt is numbered after. */
export async function countFailedAttempt(redis: RedisClient, keys: Pick<RedisKeys, "jobAttempts">, sessionId: string, jobId: string, sqsMessageId: string): Promise<number> {
  const key = keys.jobAttempts(sessionId, jobId, sqsMessageId);
  const [count] = await execMulti(redis.multi().incr(key).expire(key, OUTLIVES_JOB_SECONDS));
  return Number(count);
}

import { execMulti, OUTLIVES_JOB_SECONDS, type RedisClient, type RedisKeys } from "@azuchi/core";

/**
 * What a failed delivery of a job announced (`RedisKeys.jobAnnounced`): the messageIds whose
 * MessagePosted it published before it failed. A turn publishes its messages' events when it
 * ends, whichever way; a delivery that crashed outright (a killed instance, a timeout)
 * published nothing, and the next delivery finds those messages stored. It announces the ones
 * not in this set, so each stored message is announced once whether its delivery failed or
 * crashed. Written only by a failing delivery and read only by a redelivered job's turn: a
 * plain turn does neither.
 */
export async function markAnnounced(redis: RedisClient, keys: Pick<RedisKeys, "jobAnnounced">, sessionId: string, jobId: string, messageIds: string[]): Promise<void> {
  if (messageIds.length === 0) return;
  const key = keys.jobAnnounced(sessionId, jobId);
  await execMulti(redis.multi().sadd(key, ...messageIds).expire(key, OUTLIVES_JOB_SECONDS));
}

export async function announcedOf(redis: RedisClient, keys: Pick<RedisKeys, "jobAnnounced">, sessionId: string, jobId: string): Promise<Set<string>> {
  return new Set(await redis.smembers(keys.jobAnnounced(sessionId, jobId)));
}

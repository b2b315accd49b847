import { execMulti, messagePosted, OUTLIVES_JOB_SECONDS, questionPosted, type AgentJob, type Message, type MessagesRepository, type RedisClient, type RedisKeys } from "@azuchi/core";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { AgentDeps } from "./deps.ts";

/**
 * What a failed delivery of a job announced (`RedisKeys.jobAnnounced`): the messageIds whose
 * MessagePosted it published before it failed. A turn publishes its messages' events when it
 * ends, whichever way; a delivery that crashed outright (a killed instance, a timeout)
 * published nothing, and the next delivery finds those messages stored. It announces the ones
 * not in this set, so each stored message is announced once whether its delivery failed or
 * crashed. Written by a failing delivery and by a give-up (announceGivenUp), read by a
 * redelivered job's turn and by a give-up: a plain turn does neither.
 */
export async function markAnnounced(redis: RedisClient, keys: Pick<RedisKeys, "jobAnnounced">, sessionId: string, jobId: string, messageIds: string[]): Promise<void> {
  if (messageIds.length === 0) return;
  const key = keys.jobAnnounced(sessionId, jobId);
  await execMulti(redis.multi().sadd(key, ...messageIds).expire(key, OUTLIVES_JOB_SECONDS));
}

export async function announcedOf(redis: RedisClient, keys: Pick<RedisKeys, "jobAnnounced">, sessionId: string, jobId: string): Promise<Set<string>> {
  return new Set(await redis.smembers(keys.jobAnnounced(sessionId, jobId)));
}

/**
 * The job's stored messages no delivery announced, by what is known announced. A failure's
 * SYSTEM_LOG notice (run-failures.ts) is told by AgentRunFailed, never announced.
 */
export async function storedUnannounced(messages: Pick<MessagesRepository, "list">, job: Pick<AgentJob, "sessionId" | "jobId" | "createdAt">, known: ReadonlySet<string>): Promise<Message[]> {
  return (await messages.list(job.sessionId, { after: job.createdAt, limit: 200 })).filter(
    (message) => message.jobId === job.jobId && message.messageType !== "SYSTEM_LOG" && !known.has(message.messageId),
  );
}

/** An `announce` job's question, while no delivery is known to have announced it. */
export function questionUnannounced(job: Pick<AgentJob, "announce" | "messageId">, known: ReadonlySet<string>): boolean {
  return job.announce === true && !known.has(job.messageId);
}

/**
 * A job given up is announced as far as it got, so that nothing stored stays unannounced if its
 * dead letter is never replayed: its stored messages no delivery announced (one killed outright
 * announced nothing) and, for an `announce` job, its question. Recorded, so that a replay's
 * turn does not announce them again; with Redis unreadable they are announced all the same (at
 * least once). Answers whether the question is announced, so that the dead letter no longer asks
 * its replay to (`announce` dropped): false if they could not be published, or it is no
 * `announce` job. Never throws: the give-up goes on.
 */
export async function announceGivenUp(deps: Pick<AgentDeps, "redis" | "keys" | "messages" | "events">, job: AgentJob, logger: Logger): Promise<boolean> {
  try {
    const known = await announcedOf(deps.redis, deps.keys, job.sessionId, job.jobId).catch(() => new Set<string>());
    const stored = await storedUnannounced(deps.messages, job, known);
    const question = questionUnannounced(job, known);
    const events = [...(question ? [questionPosted(job)] : []), ...stored.map(messagePosted)];
    if (events.length > 0) {
      await (await deps.events()).publish(events);
      const ids = events.map((event) => event.detail.messageId);
      await markAnnounced(deps.redis, deps.keys, job.sessionId, job.jobId, ids).catch((error: unknown) =>
        logger.warn("what the give-up announced is not recorded; a replay may announce it again", { error: error as Error }),
      );
    }
    return job.announce === true;
  } catch (error) {
    logger.warn("the given-up job's messages were not announced; its replay will", { error: error as Error });
    return false;
  }
}

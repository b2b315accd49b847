/**
 * Redis keys, one builder per key, from the seed's naming rule
 * `<app>:<service>:<category>:<id>[:<sub_key>]`. The app prefix is configuration.
 *
 * Every key a turn touches carries the session's hash tag `{<sessionId>}`: Redis Cluster (and
 * ElastiCache Serverless) hashes only the tag, so a script's keys share one slot and never
 * answer CROSSSLOT. The job keys therefore live under their session.
 */
import { stringFromEnv, type Env } from "./env.ts";
const SERVICE = "ai-agent";

export interface RedisKeys {
  sessionLock(sessionId: string): string;
  history(sessionId: string): string;
  previousResponseId(sessionId: string): string;
  fence(sessionId: string): string;
  stop(sessionId: string): string;
  job(sessionId: string, jobId: string): string;
  /** Counted per SQS message (`sqsMessageId`): a job replayed from the DLQ, a new message, starts afresh. */
  jobAttempts(sessionId: string, jobId: string, sqsMessageId: string): string;
  /** The messageIds whose MessagePosted a delivery of the job published before it failed (job-announced.ts). */
  jobAnnounced(sessionId: string, jobId: string): string;
  /** Prefix under which libraries (e.g. Powertools idempotency) may keep their own keys. */
  servicePrefix: string;
}

/** AZUCHI_REDIS_PREFIX: the first segment of every azuchi key (default "azuchi"), so stages or apps can share one Redis. */
export function redisPrefixFromEnv(env: Env = process.env): string {
  return stringFromEnv("AZUCHI_REDIS_PREFIX", "azuchi", env);
}

export function redisKeys(appPrefix = redisPrefixFromEnv()): RedisKeys {
  const base = `${appPrefix}:${SERVICE}`;
  return {
    sessionLock: (sessionId) => `${base}:lock:session:{${sessionId}}`,
    history: (sessionId) => `${base}:session:{${sessionId}}:history`,
    previousResponseId: (sessionId) => `${base}:session:{${sessionId}}:previous_response_id`,
    fence: (sessionId) => `${base}:session:{${sessionId}}:fence`,
    stop: (sessionId) => `${base}:session:{${sessionId}}:stop`,
    job: (sessionId, jobId) => `${base}:session:{${sessionId}}:job:${jobId}`,
    jobAttempts: (sessionId, jobId, sqsMessageId) => `${base}:session:{${sessionId}}:job:${jobId}:attempts:${sqsMessageId}`,
    jobAnnounced: (sessionId, jobId) => `${base}:session:{${sessionId}}:job:${jobId}:announced`,
    servicePrefix: `${base}:`,
  };
}

/** azuchi-chat's own keys (docs/architecture.md §1: in the agent's namespace chat writes only the stop flag, and deletes a deleted chat's memory). */
export interface ChatRedisKeys {
  /** A user's message bucket, shared by every socket of the user and the HTTP API (which writes it too). */
  userMessageRate(userId: string): string;
  /** A user's new-session bucket ($connect without sessionId). */
  userNewSessionRate(userId: string): string;
}

export function chatRedisKeys(appPrefix = redisPrefixFromEnv()): ChatRedisKeys {
  const base = `${appPrefix}:chat`;
  return {
    userMessageRate: (userId) => `${base}:ratelimit:user:${userId}:messages`,
    userNewSessionRate: (userId) => `${base}:ratelimit:user:${userId}:new_sessions`,
  };
}

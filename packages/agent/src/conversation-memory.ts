import type { RedisClient } from "@azuchi/core";
import type { RedisKeys } from "@azuchi/core";
import * as z from "zod/mini";
import { defineScript, OUTLIVES_JOB_SECONDS, STOP_FLAG_LUA } from "@azuchi/core";
import { JOB_RECORD_LUA } from "./job-record.ts";
import type { SessionLock } from "./session-lock.ts";
import { LockLostError } from "./turn-errors.ts";

/** previous_response_id lives 20 days (the seed's EX 1728000); OpenAI keeps responses 30. */
export const PREVIOUS_RESPONSE_TTL_SECONDS = 1_728_000;
/**
 * The history and the fence slide with previous_response_id: a session idle this long is
 * forgotten by Redis (which must not only grow) and rebuilt from the messages table if it
 * comes back.
 */
export const MEMORY_TTL_SECONDS = PREVIOUS_RESPONSE_TTL_SECONDS;

/** previous_response_id in Lua, for the turn's start (session-lock.ts), which reads it in its one round trip. */
export const PREVIOUS_RESPONSE_LUA = `
local function previous_response_id(key) return redis.call('GET', key) end`;

export const HistoryEntry = z.object({
  messageId: z.string(),
  role: z.enum(["USER", "AGENT"]),
  message: z.string(),
  createdAt: z.number(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

// Writes a turn only while its fencing token still holds the lock: a turn that lost the
// lock cannot write even before it notices. The check is the lock's own (session-lock.ts:
// the lock's value is the holder's token), written out here because session-lock.ts builds on
// this file. LPUSH + LTRIM + SET in one round trip; the history and the fence get their sliding
// TTL again, the job is marked completed (job-record.ts; here, so the memory and the mark are
// written together or not at all), and a pending stop request is spent (the turn it was meant
// for has ended; stop-flag.ts in core).
const WRITE_TURN = `${JOB_RECORD_LUA}${STOP_FLAG_LUA}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local n = tonumber(ARGV[2])
for i = 6, #ARGV do redis.call('LPUSH', KEYS[2], ARGV[i]) end
redis.call('LTRIM', KEYS[2], 0, n - 1)
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[5], ARGV[4])
if ARGV[3] == '' then redis.call('DEL', KEYS[3]) else redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4]) end
mark_job_written(KEYS[4], ARGV[5])
spend_stop(KEYS[6])
return 1`;

/** The session's recent conversation (newest first in Redis) and its previous_response_id. */
export class ConversationMemory {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly length: number;
  private readonly writeTurnScript;

  constructor(redis: RedisClient, keys: RedisKeys, length: number) {
    this.redis = redis;
    this.keys = keys;
    this.length = length;
    this.writeTurnScript = defineScript<number>(redis, "azuchiWriteTurn", 6, WRITE_TURN);
  }

  async previousResponseId(sessionId: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.previousResponseId(sessionId))) ?? undefined;
  }

  /** The last N entries, oldest first, ready to rebuild a model's context. */
  async history(sessionId: string): Promise<HistoryEntry[]> {
    const raw = await this.redis.lrange(this.keys.history(sessionId), 0, this.length - 1);
    return raw
      .map((item) => HistoryEntry.safeParse(parseJson(item)))
      .flatMap((parsed) => (parsed.success ? [parsed.data] : []))
      .reverse();
  }

  /**
   * Appends the turn's entries (in order), stores the new response id — or, with null,
   * forgets it so the next turn rebuilds its context from this history — and marks the job
   * written (job-record.ts), fenced by the lock.
   */
  async writeTurn(lock: SessionLock, jobId: string, entries: HistoryEntry[], responseId: string | null): Promise<void> {
    const written = await this.writeTurnScript(
      this.keys.sessionLock(lock.sessionId),
      this.keys.history(lock.sessionId),
      this.keys.previousResponseId(lock.sessionId),
      this.keys.job(lock.sessionId, jobId),
      this.keys.fence(lock.sessionId),
      this.keys.stop(lock.sessionId),
      lock.token,
      this.length,
      responseId ?? "",
      PREVIOUS_RESPONSE_TTL_SECONDS,
      OUTLIVES_JOB_SECONDS,
      ...entries.map((entry) => JSON.stringify(entry)),
    );
    if (written !== 1) throw new LockLostError(lock.sessionId, "fenced-write");
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

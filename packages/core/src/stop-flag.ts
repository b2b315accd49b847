import type { RedisClient } from "./redis-client.ts";
import type { RedisKeys } from "./redis-keys.ts";

/**
 * The session's stop flag (docs/architecture.md §3), written by chat's stopGeneration and read by the
 * agent. Its value is when the user asked (epoch ms). A stop applies to the turn running at that
 * time or, if none runs, to the next one to run: the session's first unanswered message that
 * existed then. Whatever ends a turn (its memory written, or the job given up) deletes the flag,
 * so a flag still present when a turn begins or beats was meant for that turn — unless the
 * turn's message came after the request (`stopAppliesTo`).
 *
 * It lives as long as a job can wait between two attempts (a crashed turn's visibility timeout,
 * the longest retry delay), so a stop pressed while a job waits is not forgotten; a longer life
 * cannot stop a later message by mistake, since that message was stored after the request.
 */
export const STOP_FLAG_SECONDS = 15 * 60;

/**
 * The flag in Lua, for the agent's scripts that read or spend it in the round trip they make
 * anyway (a turn's start and heartbeat read it; the turn's memory write spends it): the same
 * key (`RedisKeys.stop`) and meaning as the functions below.
 */
export const STOP_FLAG_LUA = `
local function stop_requested_at(stop_key) return redis.call('GET', stop_key) end
local function spend_stop(stop_key) redis.call('DEL', stop_key) end`;

/** Raises the flag at `requestedAt`; a second press moves it later, which stops the same turn. */
export async function requestStop(redis: RedisClient, keys: Pick<RedisKeys, "stop">, sessionId: string, requestedAt = Date.now()): Promise<void> {
  await redis.set(keys.stop(sessionId), String(requestedAt), "EX", STOP_FLAG_SECONDS);
}

/** Deletes the flag: the turn it was meant for has ended (its job given up, say). */
export async function clearStop(redis: RedisClient, keys: Pick<RedisKeys, "stop">, sessionId: string): Promise<void> {
  await redis.del(keys.stop(sessionId));
}

/** Whether a stop requested at `requestedAt` is for the turn answering a message stored at `messageCreatedAt`. */
export function stopAppliesTo(requestedAt: number, messageCreatedAt: number): boolean {
  return requestedAt >= messageCreatedAt;
}

import { ensureRedisReady, requestStop } from "@azuchi/core/redis";
import { parseClientFrame } from "../client-frames.ts";
import { agentKeys, redis } from "../deps.ts";
import { messageRoute, sessionOfConnection } from "../message-route.ts";

/**
 * stopGeneration: raises the session's stop flag (core stop-flag.ts), the one key chat writes
 * in the agent's namespace (besides deleteSession's removal of a deleted chat's memory). It stops the turn running now or, if none runs (a job queued or
 * waiting to retry), the next one to run: that turn stores what it wrote with `stopped: true`
 * and sends it to every tab. Chat itself sends nothing: what the user sees is the agent's doing.
 */
export const handler = messageRoute("stopGeneration", async (route) => {
  const { log } = route;
  parseClientFrame("stopGeneration", route.body);
  const { sessionId } = await sessionOfConnection(route);
  await ensureRedisReady(redis());
  await requestStop(redis(), agentKeys(), sessionId);
  log.info("stop requested");
});

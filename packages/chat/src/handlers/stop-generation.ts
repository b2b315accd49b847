import { ensureRedisReady } from "@azuchi/core";
import { parseClientFrame } from "../client-frames.ts";
import { messageRoute, sessionOfConnection } from "../message-route.ts";

/** The stop flag lives a minute: long enough for a running turn to see it, short enough not to stop a later one by mistake. */
const STOP_FLAG_SECONDS = 60;

/**
 * stopGeneration: raises the session's stop flag (ARCHITECTURE.md §3), the one key chat
 * writes in the agent's namespace. Its value is when the user asked: the running turn, if
 * it started before then, stops, stores what it wrote with `stopped: true` and sends it to
 * every tab. Chat itself sends nothing: what the user sees is the agent's doing.
 */
export const handler = messageRoute("stopGeneration", async (route) => {
  const { deps, log } = route;
  parseClientFrame("stopGeneration", route.body);
  const { sessionId } = await sessionOfConnection(route);
  await ensureRedisReady(deps.redis);
  await deps.redis.set(deps.agentKeys.stop(sessionId), String(Date.now()), "EX", STOP_FLAG_SECONDS);
  log.info("stop requested");
});

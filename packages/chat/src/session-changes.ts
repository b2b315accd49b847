import type { Logger } from "@aws-lambda-powertools/logger";
import type { ServerFrame } from "@azuchi/core/contracts";
import { ensureRedisReady, requestStop, type RedisClient, type RedisKeys } from "@azuchi/core/redis";
import { toSessionSummary, type ConnectionsRepository, type MessagesRepository, type Notifier, type SessionRecord, type SessionsRepository } from "@azuchi/core/repositories";

/**
 * Tells every open tab of the user (whatever chat it shows) that one of their chats changed,
 * so each sidebar follows without a reload. A tab that misses it still has listSessions.
 */
export async function pushToUser(notifier: Notifier, userId: string, frame: ServerFrame, log: Pick<Logger, "warn">): Promise<void> {
  try {
    const result = await notifier.postToUser(userId, frame);
    for (const { connectionId, error } of result.failed) log.warn("a tab missed a session change", { tab: connectionId, error });
  } catch (error) {
    log.warn("the session change was not pushed to the user's tabs", { error });
  }
}

export function sessionUpdated(session: SessionRecord): ServerFrame {
  const { sessionId, title, updatedAt } = toSessionSummary(session);
  return { type: "sessionUpdated", session: { sessionId, title, updatedAt } };
}

export interface DeleteSessionResult {
  deleted: boolean;
  messages: number;
  tabs: number;
}

/**
 * Deletes a chat of `userId`: the session first (from then on it is not found: no tab can
 * connect to it or list it), then its stop flag is raised, then the subscriptions of the tabs
 * open on it (their later frames find no session), the messages, and the agent's memory of it in
 * Redis. The stop flag ends a turn running at that moment within a second, and stops a job of
 * the chat still queued when it starts; a turn stopped finds its session gone and stores
 * nothing more (agent turn.ts), so no reply is kept that no chat leads to. With Redis down the
 * tables are still cleaned, then the Redis error is thrown (the memory expires by itself).
 */
export async function deleteSession(deps: { sessions: SessionsRepository; connections: ConnectionsRepository; messages: MessagesRepository; redis: RedisClient; agentKeys: Pick<RedisKeys, "history" | "previousResponseId" | "stop"> }, sessionId: string, userId: string): Promise<DeleteSessionResult> {
  if (!(await deps.sessions.delete(sessionId, userId))) return { deleted: false, messages: 0, tabs: 0 };
  const keys = deps.agentKeys;
  // Redis down must not leave the tables half cleaned: the session is gone already, so a retry
  // would find nothing to delete. Its failure is reported once the tables are clean.
  const stop = await ensureRedisReady(deps.redis)
    .then(() => requestStop(deps.redis, keys, sessionId))
    .then(() => ({ ok: true as const }), (error: unknown) => ({ ok: false as const, error }));
  const tabs = await deps.connections.listBySession(sessionId);
  await Promise.all(tabs.map((tab) => deps.connections.delete(tab.connectionId)));
  const messages = await deps.messages.deleteSession(sessionId);
  if (!stop.ok) throw stop.error;
  await deps.redis.del(keys.history(sessionId), keys.previousResponseId(sessionId));
  return { deleted: true, messages, tabs: tabs.length };
}

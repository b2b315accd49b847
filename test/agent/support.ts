import { randomUUID } from "node:crypto";
import type { SessionLock } from "../../packages/agent/src/session-lock.ts";
import type { TurnState } from "../../packages/agent/src/turn-state.ts";

/** Takes a session's lock the way a turn does, for a fresh job; undefined when it is held. */
export async function acquire(turns: TurnState, sessionId: string, ttlMs?: number): Promise<SessionLock | undefined> {
  const begun = await turns.begin(sessionId, randomUUID(), ttlMs);
  return begun.kind === "started" ? begun.lock : undefined;
}

/**
 * The state the chat client's machine holds, the commands it returns, and what every slice of
 * it needs: each concern (outbox.ts, catch-up.ts, sessions.ts, notices.ts, retries.ts) keeps
 * its own slice's type and the pure functions over it; state.ts composes them in `update`.
 */
import type { OutgoingFrame, ChatMessage, SessionInfo } from "../protocol.ts";
import type { ReplyStream } from "../streams.ts";
import type { ConnectionState, History } from "./catch-up.ts";
import type { Notice } from "./notices.ts";
import type { OutgoingMessage } from "./outbox.ts";
import type { PendingRetry } from "./retries.ts";
import type { SessionList } from "./sessions.ts";

export interface ChatState {
  /** Undefined until the server has created this tab's new session. */
  sessionId: string | undefined;
  session: SessionInfo | undefined;
  /** Stored messages, oldest first, one per messageId. */
  messages: ChatMessage[];
  /** Replies being streamed, by messageId, until their final message arrives. */
  streams: Record<string, ReplyStream>;
  outbox: OutgoingMessage[];
  connection: ConnectionState;
  history: History;
  sessions: SessionList;
  parts: Record<string, (string | undefined)[]>;
  notices: Notice[];
  /** The user's time zone and locale, sent with each message for the agent's tools (read once by the page). */
  clock: { timeZone?: string; locale?: string };
  /** A chat this tab asked to delete: when it is gone, no notice is needed here. */
  deleting?: string;
  /** Retries asked for, by the USER message's messageId (its jobId). */
  retries: Record<string, PendingRetry>;
  stopping: boolean;
  canStop: boolean;
  /** A message the server refused, handed back to the composer; `nonce` tells repeats apart. */
  returned?: { text: string; nonce: number };
  seq: number;
}

export type Timer = "reconnect" | "pump" | "refreshSessions" | "stopTimeout" | "ackTimeout";

export type Command =
  | { type: "open"; sessionId: string | undefined }
  | { type: "send"; frame: OutgoingFrame }
  | { type: "later"; timer: Timer; delayMs: number }
  | { type: "cancel"; timer: Timer }
  | { type: "showSession"; sessionId: string | undefined; push: boolean }
  /** Let go of this socket as if it had dropped (a "closed" event follows) and reconnect with backoff. */
  | { type: "dropSocket" };

/** The next state and the commands to carry out. */
export type Step = [ChatState, Command[]];

export function initialState(sessionId?: string, sessions?: SessionList, clock: ChatState["clock"] = {}): ChatState {
  return {
    clock,
    sessionId,
    session: undefined,
    messages: [],
    streams: {},
    outbox: [],
    connection: { phase: "idle", attempt: 0, everOpened: false, synced: false, failuresBeforeOpen: 0 },
    history: { loaded: false, hasOlder: false, loadingOlder: false, pending: [] },
    sessions: sessions ? { ...sessions, loading: false, requested: undefined } : { items: [], loading: false, loaded: false, supported: true },
    parts: {},
    notices: [],
    retries: {},
    stopping: false,
    canStop: true,
    seq: 0,
  };
}

/** Open and caught up: what the user asks for may go out. */
export function isReady(state: ChatState): boolean {
  return state.connection.phase === "open" && state.connection.synced;
}

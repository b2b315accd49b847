/**
 * The connection and the history: after every open the tab first catches up on what it missed
 * (the newest page on a first open, `getSession` `after` on a reconnect, page after page while
 * pages come back full), and only then is it in sync and may the outbox send; older pages are
 * fetched on request. A drop waits with jittered backoff and asks again for what was pending.
 */
import { reconnectDelay } from "../backoff.ts";
import { SESSION_UNREACHABLE, SIGN_IN_EXPIRED, type HumanError } from "../errors.ts";
import type { ChatMessage, ErrorFrameLike, OutgoingFrame, SessionInfo } from "../protocol.ts";
import { isReady, type ChatState, type Command, type Step } from "./model.ts";
import { withNotice, withoutNotice } from "./notices.ts";
import { pump, unsent } from "./outbox.ts";
import { acknowledgedOnly } from "./retries.ts";
import { requestSessions, withListedTitle } from "./sessions.ts";

/** Messages per history page (getSession's default is the newest 50). */
export const PAGE_SIZE = 50;
/** Messages per catch-up page after a reconnect. */
export const CATCH_UP_PAGE = 200;
/**
 * A catch-up asks for a little before the newest message seen: createdAt is the order of
 * the session, not the order of writing, so a message may land just before one already seen.
 */
export const CATCH_UP_OVERLAP_MS = 5_000;
/** Refused attempts (no open) before the user is told the session may not be reachable. */
export const UNREACHABLE_AFTER = 3;

export type ConnectionPhase = "idle" | "connecting" | "open" | "waiting" | "signedOut";

export interface ConnectionState {
  phase: ConnectionPhase;
  /** Consecutive attempts since the socket was last in sync; sets the backoff. */
  attempt: number;
  /** When the next attempt is due (phase "waiting"). */
  retryAt?: number;
  /** Whether this session's socket ever opened in this tab. */
  everOpened: boolean;
  /** Open, and the history has caught up since: queued messages may go out. */
  synced: boolean;
  failuresBeforeOpen: number;
  /** A NOT_FOUND while catching up made this tab reconnect once since it was last in sync. */
  retriedNotFound?: boolean;
}

export type HistoryRequest = { kind: "initial" | "older" | "catchUp"; limit: number };

export interface History {
  loaded: boolean;
  hasOlder: boolean;
  loadingOlder: boolean;
  /** The getSession requests on the wire, oldest first: a page that comes back answers the first. */
  pending: HistoryRequest[];
}

export function connect(state: ChatState): Step {
  if (state.connection.phase === "open" || state.connection.phase === "connecting") return [state, []];
  return [{ ...state, connection: { ...state.connection, phase: "connecting", retryAt: undefined } }, [{ type: "cancel", timer: "reconnect" }, { type: "open", sessionId: state.sessionId }]];
}

export function opened(state: ChatState): Step {
  const newest = state.messages.at(-1);
  const catchUp = state.history.loaded && newest !== undefined;
  const request: HistoryRequest = catchUp ? { kind: "catchUp", limit: CATCH_UP_PAGE } : { kind: "initial", limit: PAGE_SIZE };
  const frame: OutgoingFrame = catchUp
    ? { action: "getSession", after: Math.max(0, newest.createdAt - CATCH_UP_OVERLAP_MS), limit: CATCH_UP_PAGE }
    : { action: "getSession", limit: PAGE_SIZE };
  const next: ChatState = {
    ...withoutNotice(state, "signIn"),
    connection: { ...state.connection, phase: "open", everOpened: true, synced: false, retryAt: undefined },
    history: { ...state.history, loadingOlder: false, pending: [request] },
  };
  const [listed, listCommands] = requestSessions(next, true);
  return [listed, [{ type: "send", frame }, ...listCommands]];
}

export function closed(state: ChatState, now: number, random: number): Step {
  if (state.connection.phase === "signedOut") return [state, []];
  const neverOpened = state.connection.phase === "connecting";
  const attempt = state.connection.attempt + 1;
  const failuresBeforeOpen = neverOpened ? state.connection.failuresBeforeOpen + 1 : 0;
  const delayMs = reconnectDelay(attempt, random);
  let next: ChatState = {
    ...offWire(state),
    connection: { ...state.connection, phase: "waiting", attempt, failuresBeforeOpen, synced: false, retryAt: now + delayMs },
  };
  if (state.sessionId && !state.connection.everOpened && failuresBeforeOpen >= UNREACHABLE_AFTER) next = withNotice(next, "unreachable", SESSION_UNREACHABLE);
  return [next, [{ type: "later", timer: "reconnect", delayMs }]];
}

/** The page let go of the socket (unmounted); a later "connect" resumes. */
export function suspend(state: ChatState): Step {
  return [{ ...offWire(state), connection: { ...state.connection, phase: "idle", synced: false, retryAt: undefined } }, []];
}

export function signInRequired(state: ChatState): Step {
  return [
    withNotice({ ...state, connection: { ...state.connection, phase: "signedOut", synced: false, retryAt: undefined } }, "signIn", SIGN_IN_EXPIRED),
    [{ type: "cancel", timer: "reconnect" }],
  ];
}

/** Without a socket, nothing is awaited any more. */
function offWire(state: ChatState): ChatState {
  return {
    ...state,
    outbox: unsent(state.outbox),
    history: { ...state.history, loadingOlder: false, pending: [] },
    sessions: { ...state.sessions, loading: false, requested: undefined },
    parts: {},
    retries: acknowledgedOnly(state.retries),
  };
}

export function loadOlder(state: ChatState): Step {
  const oldest = state.messages[0];
  const { history } = state;
  if (!oldest || !history.loaded || !history.hasOlder || history.loadingOlder || !isReady(state)) return [state, []];
  return [
    { ...state, history: { ...history, loadingOlder: true, pending: [...history.pending, { kind: "older", limit: PAGE_SIZE }] } },
    [{ type: "send", frame: { action: "getSession", before: oldest.createdAt, limit: PAGE_SIZE } }],
  ];
}

/**
 * A getSession page, its messages already merged into `state`: it answers the first pending
 * request. A full catch-up page asks for the next; the last one puts the tab in sync, and the
 * outbox goes out.
 */
export function sessionReceived(state: ChatState, session: SessionInfo, messages: ChatMessage[]): Step {
  const [request = { kind: "catchUp", limit: CATCH_UP_PAGE }, ...pending] = state.history.pending;
  const commands: Command[] = [];
  let next: ChatState = withListedTitle({ ...state, session, history: { ...state.history, pending } }, session);
  if (state.sessionId !== session.sessionId) {
    next.sessionId = session.sessionId;
    commands.push({ type: "showSession", sessionId: session.sessionId, push: false });
  }
  const full = messages.length >= request.limit;
  if (request.kind === "initial") next.history = { ...next.history, loaded: true, hasOlder: full };
  if (request.kind === "older") next.history = { ...next.history, loadingOlder: false, hasOlder: full };
  if (request.kind === "catchUp" && full && next.connection.phase === "open") {
    // More was missed than one page holds: keep catching up before sending anything.
    // Go on from the newest message of this page: a live frame may already hold a newer one,
    // and starting after it would skip what lies between.
    const newest = messages.at(-1)!;
    next.history = { ...next.history, pending: [...next.history.pending, { kind: "catchUp", limit: CATCH_UP_PAGE }] };
    return [next, [...commands, { type: "send", frame: { action: "getSession", after: newest.createdAt, limit: CATCH_UP_PAGE } }]];
  }
  const catchingUp = next.history.pending.some((r) => r.kind !== "older");
  if (!next.connection.synced && next.connection.phase === "open" && !catchingUp) {
    next = withoutNotice({ ...next, connection: { ...next.connection, synced: true, attempt: 0, failuresBeforeOpen: 0, retriedNotFound: false } }, "unreachable");
    const [pumped, pumpCommands] = pump(next);
    return [pumped, [...commands, ...pumpCommands]];
  }
  return [next, commands];
}

/** A NOT_FOUND while catching up: the connection is tried once more, then the chat is reported gone; undefined for any other error. */
export function catchUpRefused(state: ChatState, frame: ErrorFrameLike, human: HumanError): Step | undefined {
  if (frame.code !== "NOT_FOUND" || state.history.pending.length === 0) return undefined;
  if (!state.connection.synced && !state.connection.retriedNotFound) {
    // The server found no session for this connection while the tab was catching up. Its
    // $connect had found the session, so the connection, not the chat, is what went missing
    // (API Gateway promises no order between a connection's events): a new connection is
    // checked afresh, and a chat that is really gone is refused there. Telling the user it
    // no longer exists now would leave a stored, answered chat stuck, its messages unsent.
    return [{ ...state, connection: { ...state.connection, retriedNotFound: true } }, [{ type: "dropSocket" }]];
  }
  return [withNotice({ ...state, history: { ...state.history, pending: state.history.pending.slice(1) } }, "notFound", human), []];
}

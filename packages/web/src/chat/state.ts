/**
 * The chat client's state machine: every socket event, server frame and user action goes
 * through `update`, which returns the next state and the commands to carry out (open a
 * socket, send a frame, set a timer, show the session in the URL). It is pure — time and
 * randomness come in with the events — so it is tested without a browser or a socket;
 * `ChatConnection` (connection.ts) is the one place that performs the commands.
 */
import { characterCount, jobQuestion, MAX_MESSAGE_CHARS } from "@azuchi/core/contracts";
import { reconnectDelay } from "./backoff.ts";
import { describeError, SESSION_UNREACHABLE, SIGN_IN_EXPIRED, tooLongText, type HumanError } from "./errors.ts";
import { frameBytes, MAX_CLIENT_FRAME_BYTES, parseFrame, type ChatMessage, type ErrorFrameLike, type IncomingFrame, type OutgoingFrame, type SessionInfo, type SessionListItem } from "./protocol.ts";
import { addDelta, type ReplyStream } from "./streams.ts";

/** Messages per history page (getSession's default is the newest 50). */
export const PAGE_SIZE = 50;
/** Messages per catch-up page after a reconnect. */
export const CATCH_UP_PAGE = 200;
/**
 * A catch-up asks for a little before the newest message seen: createdAt is the order of
 * the session, not the order of writing, so a message may land just before one already seen.
 */
export const CATCH_UP_OVERLAP_MS = 5_000;
export const SESSIONS_PAGE = 30;
/** After a reply, the server sets the session's title from an event: ask for the list a little later. */
export const TITLE_REFRESH_MS = 1_500;
export const RATE_LIMIT_RETRY_MS = 1_500;
export const STOP_TIMEOUT_MS = 5_000;
/** How long a sent message may wait for its ack before it is sent again. */
export const ACK_TIMEOUT_MS = 10_000;
/** The pause before resending a message after an error that did not say which request it answers. */
export const RESEND_AFTER_ERROR_MS = 2_000;
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

export interface OutgoingMessage {
  clientMessageId: string;
  text: string;
  queuedAt: number;
  /** "sending": on the wire, waiting for its ack; messages go one at a time so they stay in order. */
  status: "queued" | "sending";
}

export interface Notice extends HumanError {
  id: string;
  retry?: { clientMessageId: string; text: string };
}

/**
 * A Retry of a message the agent gave up on: "sending" until the server acks it, "queued"
 * after; it ends when the new attempt's first notice or the answer arrives.
 */
export interface PendingRetry {
  retryId: string;
  status: "sending" | "queued";
  /** A regeneration's job (`<messageId>:<regenerateId>`): it has begun once any message of it arrives. */
  jobId?: string;
}

type HistoryRequest = { kind: "initial" | "older" | "catchUp"; limit: number };

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
  history: { loaded: boolean; hasOlder: boolean; loadingOlder: boolean; pending: HistoryRequest[] };
  sessions: { items: SessionListItem[]; cursor?: string; loading: boolean; loaded: boolean; supported: boolean; requested?: string };
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

export type ChatEvent =
  | { type: "connect"; now: number }
  | { type: "opened"; now: number }
  | { type: "closed"; now: number; random: number }
  /** The page let go of the socket (unmounted); a later "connect" resumes. */
  | { type: "suspend" }
  | { type: "signInRequired" }
  | { type: "frame"; data: string; now: number }
  | { type: "send"; text: string; clientMessageId: string; now: number }
  | { type: "retrySend"; noticeId: string; now: number }
  /** Retry: the agent answers a given-up USER message again (retryMessage). */
  | { type: "retryMessage"; messageId: string; retryId: string }
  /** Another answer to a USER message (regenerateReply); the answers before it stay. */
  | { type: "regenerateReply"; messageId: string; regenerateId: string }
  | { type: "renameSession"; sessionId: string; title: string }
  /** Asked after the user confirmed it. */
  | { type: "deleteSession"; sessionId: string }
  | { type: "pump" }
  /** The message on the wire got no ack in time: send it again (same clientMessageId, so at most once). */
  | { type: "ackTimedOut" }
  | { type: "stop" }
  | { type: "stopTimedOut" }
  | { type: "loadOlder" }
  | { type: "loadMoreSessions" }
  | { type: "refreshSessions" }
  | { type: "switchSession"; sessionId: string | undefined; fromUrl: boolean }
  | { type: "dismiss"; noticeId: string };

export type Timer = "reconnect" | "pump" | "refreshSessions" | "stopTimeout" | "ackTimeout";

export type Command =
  | { type: "open"; sessionId: string | undefined }
  | { type: "send"; frame: OutgoingFrame }
  | { type: "later"; timer: Timer; delayMs: number }
  | { type: "cancel"; timer: Timer }
  | { type: "showSession"; sessionId: string | undefined; push: boolean }
  /** Let go of this socket as if it had dropped (a "closed" event follows) and reconnect with backoff. */
  | { type: "dropSocket" };

export function initialState(sessionId?: string, sessions?: ChatState["sessions"], clock: ChatState["clock"] = {}): ChatState {
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

type Step = [ChatState, Command[]];

export function update(state: ChatState, event: ChatEvent): Step {
  switch (event.type) {
    case "connect":
      if (state.connection.phase === "open" || state.connection.phase === "connecting") return [state, []];
      return [{ ...state, connection: { ...state.connection, phase: "connecting", retryAt: undefined } }, [{ type: "cancel", timer: "reconnect" }, { type: "open", sessionId: state.sessionId }]];
    case "opened":
      return opened(state);
    case "closed":
      return closed(state, event.now, event.random);
    case "suspend":
      return [{ ...offWire(state), connection: { ...state.connection, phase: "idle", synced: false, retryAt: undefined } }, []];
    case "signInRequired":
      return [
        withNotice({ ...state, connection: { ...state.connection, phase: "signedOut", synced: false, retryAt: undefined } }, "signIn", SIGN_IN_EXPIRED),
        [{ type: "cancel", timer: "reconnect" }],
      ];
    case "frame":
      return received(state, event.data, event.now);
    case "send":
      return queueMessage(state, event.text, event.clientMessageId, event.now);
    case "retrySend": {
      const notice = state.notices.find((n) => n.id === event.noticeId);
      if (!notice?.retry) return [state, []];
      const outbox = [...state.outbox, { clientMessageId: notice.retry.clientMessageId, text: notice.retry.text, queuedAt: event.now, status: "queued" as const }];
      return pump({ ...withoutNotice(state, notice.id), outbox });
    }
    case "retryMessage": {
      if (!isReady(state) || state.retries[event.messageId]) return [state, []];
      const retries = { ...state.retries, [event.messageId]: { retryId: event.retryId, status: "sending" as const } };
      return [{ ...state, retries }, [{ type: "send", frame: { action: "retryMessage", messageId: event.messageId, retryId: event.retryId, ...state.clock } }]];
    }
    case "regenerateReply": {
      if (!isReady(state) || state.retries[event.messageId]) return [state, []];
      const jobId = `${event.messageId}:${event.regenerateId}`;
      const retries = { ...state.retries, [event.messageId]: { retryId: event.regenerateId, status: "sending" as const, jobId } };
      return [{ ...state, retries }, [{ type: "send", frame: { action: "regenerateReply", messageId: event.messageId, regenerateId: event.regenerateId, ...state.clock } }]];
    }
    case "renameSession": {
      const title = event.title.trim();
      if (title === "" || !isReady(state)) return [state, []];
      // Shown at once; the server's sessionUpdated brings the title as it stored it.
      return [withSessionItem(state, event.sessionId, { title }), [{ type: "send", frame: { action: "renameSession", sessionId: event.sessionId, title } }]];
    }
    case "deleteSession":
      if (!isReady(state)) return [state, []];
      return [{ ...state, deleting: event.sessionId }, [{ type: "send", frame: { action: "deleteSession", sessionId: event.sessionId } }]];
    case "pump":
      return pump(state);
    case "ackTimedOut":
      return requeueSending(state, 0);
    case "stop":
      if (!state.canStop || state.stopping || !isReady(state)) return [state, []];
      return [
        { ...state, stopping: true },
        [{ type: "send", frame: { action: "stopGeneration" } }, { type: "later", timer: "stopTimeout", delayMs: STOP_TIMEOUT_MS }],
      ];
    case "stopTimedOut":
      return [{ ...state, stopping: false }, []];
    case "loadOlder": {
      const oldest = state.messages[0];
      const { history } = state;
      if (!oldest || !history.loaded || !history.hasOlder || history.loadingOlder || !isReady(state)) return [state, []];
      return [
        { ...state, history: { ...history, loadingOlder: true, pending: [...history.pending, { kind: "older", limit: PAGE_SIZE }] } },
        [{ type: "send", frame: { action: "getSession", before: oldest.createdAt, limit: PAGE_SIZE } }],
      ];
    }
    case "loadMoreSessions": {
      const { sessions } = state;
      if (!sessions.supported || !sessions.cursor || sessions.loading || !isReady(state)) return [state, []];
      return [
        { ...state, sessions: { ...sessions, loading: true, requested: sessions.cursor } },
        [{ type: "send", frame: { action: "listSessions", limit: SESSIONS_PAGE, cursor: sessions.cursor } }],
      ];
    }
    case "refreshSessions":
      return requestSessions(state);
    case "switchSession": {
      if (event.sessionId !== undefined && event.sessionId === state.sessionId) return [state, []];
      const fresh = initialState(event.sessionId, state.sessions, state.clock);
      const next: ChatState = { ...fresh, connection: { ...fresh.connection, phase: "connecting" } };
      const commands: Command[] = [
        { type: "cancel", timer: "reconnect" },
        { type: "cancel", timer: "pump" },
        { type: "cancel", timer: "stopTimeout" },
        { type: "open", sessionId: event.sessionId },
      ];
      if (!event.fromUrl) commands.push({ type: "showSession", sessionId: event.sessionId, push: true });
      return [next, commands];
    }
    case "dismiss":
      return [withoutNotice(state, event.noticeId), []];
  }
}

function isReady(state: ChatState): boolean {
  return state.connection.phase === "open" && state.connection.synced;
}

function opened(state: ChatState): Step {
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

function closed(state: ChatState, now: number, random: number): Step {
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

/** Without a socket, nothing is awaited any more. */
function offWire(state: ChatState): ChatState {
  return {
    ...state,
    // What was on the wire without an ack goes again after the reconnect, with the same clientMessageId.
    outbox: state.outbox.map((item) => (item.status === "sending" ? { ...item, status: "queued" } : item)),
    history: { ...state.history, loadingOlder: false, pending: [] },
    sessions: { ...state.sessions, loading: false, requested: undefined },
    parts: {},
    // A Retry not yet acked may not have reached the server: offer it again (a retry of an answered job posts nothing).
    retries: Object.fromEntries(Object.entries(state.retries).filter(([, retry]) => retry.status === "queued")),
  };
}

function requestSessions(state: ChatState, force = false): Step {
  const { sessions } = state;
  if (!sessions.supported || (sessions.loading && !force) || state.connection.phase !== "open") return [state, []];
  return [
    { ...state, sessions: { ...sessions, loading: true, requested: undefined } },
    [{ type: "send", frame: { action: "listSessions", limit: SESSIONS_PAGE } }],
  ];
}

function received(state: ChatState, data: string, now: number): Step {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return [state, []];
  }
  const frame = parseFrame(json);
  return frame ? handleFrame(state, frame, now) : [state, []];
}

function handleFrame(state: ChatState, frame: IncomingFrame, now: number): Step {
  switch (frame.type) {
    case "part": {
      const parts = [...(state.parts[frame.partId] ?? new Array<string | undefined>(frame.count).fill(undefined))];
      parts[frame.index] = frame.data;
      if (parts.some((part) => part === undefined)) return [{ ...state, parts: { ...state.parts, [frame.partId]: parts } }, []];
      const { [frame.partId]: _done, ...rest } = state.parts;
      return received({ ...state, parts: rest }, parts.join(""), now);
    }
    case "ack": {
      const retried = Object.entries(state.retries).find(([, retry]) => retry.retryId === frame.clientMessageId);
      if (retried) return [{ ...state, retries: { ...state.retries, [retried[0]]: { ...retried[1], status: "queued" } } }, []];
      const item = state.outbox.find((o) => o.clientMessageId === frame.clientMessageId);
      if (!item) return [state, []];
      const placeholder: ChatMessage = {
        sessionId: state.sessionId ?? "",
        createdAt: frame.createdAt,
        messageId: frame.messageId,
        role: "USER",
        messageType: "CONVERSATION",
        message: item.text,
      };
      const next = withoutNotice({ ...state, outbox: state.outbox.filter((o) => o !== item) }, "rateLimited");
      const [pumped, commands] = pump(touchCurrentSession(mergeMessages(next, [placeholder], false), frame.createdAt));
      return [pumped, [{ type: "cancel", timer: "ackTimeout" }, ...commands]];
    }
    case "message": {
      if (state.sessionId && frame.message.sessionId !== state.sessionId) return [state, []];
      const message = frame.message;
      let next = touchCurrentSession(mergeMessages(state, [message], true), message.createdAt);
      const commands: Command[] = [];
      if (message.role === "AGENT" && message.messageType === "CONVERSATION") {
        next = { ...next, stopping: false };
        commands.push({ type: "cancel", timer: "stopTimeout" });
        if (next.sessions.supported) commands.push({ type: "later", timer: "refreshSessions", delayMs: TITLE_REFRESH_MS });
      }
      return [next, commands];
    }
    case "delta": {
      if (frame.delta === "" || state.messages.some((m) => m.messageId === frame.messageId)) return [state, []];
      return [{ ...state, streams: { ...state.streams, [frame.messageId]: addDelta(state.streams[frame.messageId], frame.messageId, frame.offset, frame.delta, now) } }, []];
    }
    case "session":
      return sessionReceived(state, frame.session, frame.messages);
    case "sessions": {
      const first = state.sessions.requested === undefined;
      const known = new Map(state.sessions.items.map((i) => [i.sessionId, i]));
      const received = frame.sessions.map((s) => (s.title ? s : { ...s, title: known.get(s.sessionId)?.title ?? "" }));
      const items = first ? received : [...state.sessions.items, ...received.filter((s) => !known.has(s.sessionId))];
      const current = frame.sessions.find((s) => s.sessionId === state.sessionId);
      const session = current && state.session && current.title && current.title !== state.session.title ? { ...state.session, title: current.title } : state.session;
      const listed = { ...state, session, sessions: { ...state.sessions, items, cursor: frame.cursor, loading: false, loaded: true, requested: undefined } };
      // A session that just got its first message may not be in the list yet: keep it on top.
      return [state.messages.length > 0 && !current ? touchCurrentSession(listed, state.messages.at(-1)!.createdAt) : listed, []];
    }
    case "sessionUpdated":
      return [withSessionItem(state, frame.session.sessionId, frame.session), []];
    case "sessionDeleted": {
      const sessions = { ...state.sessions, items: state.sessions.items.filter((i) => i.sessionId !== frame.sessionId) };
      const next = { ...state, sessions, deleting: state.deleting === frame.sessionId ? undefined : state.deleting };
      if (frame.sessionId !== state.sessionId) return [next, []];
      // The chat on screen is gone: a new one takes its place.
      const [fresh, commands] = update(next, { type: "switchSession", sessionId: undefined, fromUrl: false });
      return [state.deleting === frame.sessionId ? fresh : withNotice(fresh, "deleted", { text: "That chat was deleted in another tab." }), commands];
    }
    case "error":
      return errorReceived(state, frame);
  }
}

/**
 * A chat's new title (and time) in the sidebar, kept newest first; a chat not listed yet (begun
 * in another tab, told at its first message) is added. The chat on screen takes the title too.
 * An empty title is a chat not titled yet: what this tab calls it (its first message, a rename)
 * stays, as a title once set never goes back to empty; and the time only moves forward.
 */
function withSessionItem(state: ChatState, sessionId: string, change: { title: string; updatedAt?: number }): ChatState {
  const existing = state.sessions.items.find((i) => i.sessionId === sessionId);
  const title = change.title || existing?.title || "";
  const item = { sessionId, title, updatedAt: Math.max(change.updatedAt ?? 0, existing?.updatedAt ?? 0) };
  const items = [...state.sessions.items.filter((i) => i.sessionId !== sessionId), item].sort((a, b) => b.updatedAt - a.updatedAt);
  const session = state.session && state.session.sessionId === sessionId && change.title ? { ...state.session, title: change.title } : state.session;
  return { ...state, session, sessions: { ...state.sessions, items } };
}

function sessionReceived(state: ChatState, session: SessionInfo, messages: ChatMessage[]): Step {
  const [request = { kind: "catchUp", limit: CATCH_UP_PAGE }, ...pending] = state.history.pending;
  const commands: Command[] = [];
  let next = mergeMessages({ ...state, session, history: { ...state.history, pending } }, messages, true);
  if (state.sessionId !== session.sessionId) {
    next.sessionId = session.sessionId;
    commands.push({ type: "showSession", sessionId: session.sessionId, push: false });
  }
  if (session.title) next.sessions = { ...next.sessions, items: next.sessions.items.map((i) => (i.sessionId === session.sessionId ? { ...i, title: session.title } : i)) };
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

function errorReceived(state: ChatState, frame: ErrorFrameLike): Step {
  const routes = Array.isArray(frame.routes) ? frame.routes.filter((r): r is string => typeof r === "string") : undefined;
  if (frame.code === "UNKNOWN_ROUTE" && routes) {
    // The server lists what it supports: a missing feature is hidden rather than reported.
    // (Which request this answers is unknown; an action missing from the list is enough.)
    if (state.sessions.loading && !routes.includes("listSessions")) {
      return [{ ...state, sessions: { ...state.sessions, loading: false, supported: false } }, []];
    }
    if (state.stopping && !routes.includes("stopGeneration")) {
      return [withNotice({ ...state, stopping: false, canStop: false }, "stop", { text: "This server cannot stop an answer yet." }), [{ type: "cancel", timer: "stopTimeout" }]];
    }
  }
  const retried = typeof frame.retryId === "string" ? Object.entries(state.retries).find(([, retry]) => retry.retryId === frame.retryId) : undefined;
  if (retried) {
    const { [retried[0]]: _refused, ...retries } = state.retries;
    return [withNotice({ ...state, retries }, `retry:${retried[0]}`, frame.code === "RATE_LIMITED" ? { text: "Too many messages just now; press Retry again in a moment." } : describeError(frame)), []];
  }
  if (typeof frame.sessionId === "string" && (frame.code === "NOT_FOUND" || frame.code === "BAD_REQUEST")) {
    // A rename or delete of a chat in the sidebar was refused: it is about that chat, not this one.
    const gone = frame.code === "NOT_FOUND";
    const sessions = gone ? { ...state.sessions, items: state.sessions.items.filter((i) => i.sessionId !== frame.sessionId) } : state.sessions;
    const deleting = state.deleting === frame.sessionId ? undefined : state.deleting;
    return [withNotice({ ...state, sessions, deleting }, `session:${frame.sessionId}`, { text: gone ? "That chat no longer exists." : frame.message || "The server could not accept that name." }), []];
  }
  const human = describeError(frame);
  const sending = state.outbox.find((o) => o.status === "sending");
  if (sending && frame.code === "RATE_LIMITED") {
    const outbox = state.outbox.map((o) => (o === sending ? { ...o, status: "queued" as const } : o));
    return [withNotice({ ...state, outbox }, "rateLimited", human), [{ type: "later", timer: "pump", delayMs: RATE_LIMIT_RETRY_MS }]];
  }
  if (sending && (frame.code === "MESSAGE_TOO_LONG" || frame.code === "BAD_REQUEST")) {
    // Only one putMessage is on the wire at a time, so this refusal is about it.
    const next = withNotice({ ...state, outbox: state.outbox.filter((o) => o !== sending), returned: { text: sending.text, nonce: state.seq + 1 } }, "refused", human);
    return pump(next);
  }
  if (sending && (frame.code === "INTERNAL" || frame.code === "NOT_FOUND") && frame.clientMessageId === undefined && state.history.pending.length === 0) {
    // An error that names no message, while one is on the wire: it may be about it, so it is
    // sent again in a moment rather than left waiting for an ack that will not come.
    const [next, commands] = requeueSending(state, RESEND_AFTER_ERROR_MS);
    return [withNotice(next, `error:${state.seq + 1}`, human), commands];
  }
  if (frame.code === "NOT_FOUND" && state.history.pending.length > 0 && !state.connection.synced && !state.connection.retriedNotFound) {
    // The server found no session for this connection while the tab was catching up. Its
    // $connect had found the session, so the connection, not the chat, is what went missing
    // (API Gateway promises no order between a connection's events): a new connection is
    // checked afresh, and a chat that is really gone is refused there. Telling the user it
    // no longer exists now would leave a stored, answered chat stuck, its messages unsent.
    return [{ ...state, connection: { ...state.connection, retriedNotFound: true } }, [{ type: "dropSocket" }]];
  }
  if (frame.code === "NOT_FOUND" && state.history.pending.length > 0) {
    return [withNotice({ ...state, history: { ...state.history, pending: state.history.pending.slice(1) } }, "notFound", human), []];
  }
  if (human.action === "retrySend" && typeof frame.clientMessageId === "string") {
    const stored = state.messages.find((m) => m.messageId === frame.messageId);
    const text = stored?.message ?? state.outbox.find((o) => o.clientMessageId === frame.clientMessageId)?.text;
    if (text !== undefined) return [withNotice(state, `retry:${frame.clientMessageId}`, human, { clientMessageId: frame.clientMessageId, text }), []];
  }
  return [withNotice(state, `error:${state.seq + 1}`, human), []];
}

function queueMessage(state: ChatState, text: string, clientMessageId: string, now: number): Step {
  if (text.trim() === "") return [state, []];
  const length = characterCount(text);
  if (length > MAX_MESSAGE_CHARS) return [withNotice(state, "tooLong", { text: tooLongText(length, MAX_MESSAGE_CHARS) }), []];
  if (frameBytes({ action: "putMessage", message: text, clientMessageId, ...state.clock }) > MAX_CLIENT_FRAME_BYTES) {
    return [withNotice(state, "tooLong", { text: "This message is too large to send in one piece. Shorten it and send again." }), []];
  }
  const outbox = [...state.outbox, { clientMessageId, text, queuedAt: now, status: "queued" as const }];
  return pump(withoutNotice(withoutNotice({ ...state, outbox }, "tooLong"), "refused"));
}

/** Sends the next queued message when the socket is in sync and nothing else awaits its ack. */
function pump(state: ChatState): Step {
  const next = state.outbox[0];
  if (!next || next.status !== "queued" || !isReady(state)) return [state, []];
  return [
    { ...state, outbox: state.outbox.map((o) => (o === next ? { ...o, status: "sending" as const } : o)) },
    [
      { type: "send", frame: { action: "putMessage", message: next.text, clientMessageId: next.clientMessageId, ...state.clock } },
      { type: "later", timer: "ackTimeout", delayMs: ACK_TIMEOUT_MS },
    ],
  ];
}

/**
 * Puts the message on the wire back at the head of the queue and sends it again after
 * `delayMs`: the server keeps one message per clientMessageId, so a resend is safe when its
 * ack was lost or an error did not say which request it answers.
 */
function requeueSending(state: ChatState, delayMs: number): Step {
  const sending = state.outbox.find((o) => o.status === "sending");
  if (!sending) return [state, []];
  const outbox = state.outbox.map((o) => (o === sending ? { ...o, status: "queued" as const } : o));
  if (delayMs > 0) return [{ ...state, outbox }, [{ type: "cancel", timer: "ackTimeout" }, { type: "later", timer: "pump", delayMs }]];
  const [next, commands] = pump({ ...state, outbox });
  return [next, [{ type: "cancel", timer: "ackTimeout" }, ...commands]];
}

/** Merges messages by messageId, keeps them in createdAt order, and retires finished streams. */
function mergeMessages(state: ChatState, incoming: ChatMessage[], authoritative: boolean): ChatState {
  if (incoming.length === 0) return state;
  const byId = new Map(state.messages.map((m) => [m.messageId, m]));
  for (const message of incoming) {
    if (state.sessionId && message.sessionId && message.sessionId !== state.sessionId) continue;
    if (!authoritative && byId.has(message.messageId)) continue;
    byId.set(message.messageId, message);
  }
  const messages = [...byId.values()].sort((a, b) => a.createdAt - b.createdAt);
  // A retry has begun once its job says something new: a new attempt's notice, or the answer.
  let retries = state.retries;
  for (const message of incoming) {
    const question = message.jobId && jobQuestion(message.jobId);
    const retry = question ? retries[question] : undefined;
    if (!question || !retry || state.messages.some((m) => m.messageId === message.messageId)) continue;
    const begun = retry.jobId ? message.jobId === retry.jobId : message.messageType === "SYSTEM_LOG" || (message.role === "AGENT" && message.messageType === "CONVERSATION");
    if (begun) {
      const { [question]: _begun, ...rest } = retries;
      retries = rest;
    }
  }
  // A failed attempt's partial text was never stored; its retry streams the reply anew. Live or
  // in a catch-up page, a failure notice ends the streams shown so far.
  let streams = incoming.some((m) => m.messageType === "SYSTEM_LOG") ? {} : state.streams;
  for (const message of incoming) {
    if (streams[message.messageId]) {
      const { [message.messageId]: _finished, ...rest } = streams;
      streams = rest;
    }
  }
  return { ...state, messages, streams, retries };
}

/** The sidebar shows the current session on top as soon as it has news. */
function touchCurrentSession(state: ChatState, at: number): ChatState {
  const { sessionId } = state;
  if (!sessionId) return state;
  const existing = state.sessions.items.find((i) => i.sessionId === sessionId);
  if (existing && existing.updatedAt >= at && state.sessions.items[0] === existing) return state;
  // Until the server titles it (after the first exchange), a chat is called by its first message.
  const provisional = state.messages.find((m) => m.role === "USER")?.message.slice(0, 80) ?? "";
  const item = { sessionId, title: existing?.title || state.session?.title || provisional, updatedAt: Math.max(at, existing?.updatedAt ?? 0) };
  return { ...state, sessions: { ...state.sessions, items: [item, ...state.sessions.items.filter((i) => i.sessionId !== sessionId)] } };
}

function withNotice(state: ChatState, id: string, error: HumanError, retry?: Notice["retry"]): ChatState {
  const seq = state.seq + 1;
  const notice: Notice = { ...error, id, ...(retry && { retry }) };
  return { ...state, seq, notices: [...state.notices.filter((n) => n.id !== id), notice] };
}

function withoutNotice(state: ChatState, id: string): ChatState {
  return state.notices.some((n) => n.id === id) ? { ...state, notices: state.notices.filter((n) => n.id !== id) } : state;
}

/**
 * The session list (the sidebar), newest first, and which chat this tab shows: listed a page
 * at a time, kept current from this tab's own messages and from the other tabs' events, renamed
 * and deleted from here.
 */
import type { ErrorFrameLike, SessionInfo, SessionListItem } from "../protocol.ts";
import { initialState, isReady, type ChatState, type Command, type Step } from "./model.ts";
import { withNotice } from "./notices.ts";

export const SESSIONS_PAGE = 30;
/** After a reply, the server sets the session's title from an event: ask for the list a little later. */
export const TITLE_REFRESH_MS = 1_500;

export interface SessionList {
  items: SessionListItem[];
  cursor?: string;
  loading: boolean;
  loaded: boolean;
  /** False once the server said it has no listSessions: the sidebar is hidden, not an error. */
  supported: boolean;
  /** The cursor of the page asked for; undefined for the first page, which replaces the list. */
  requested?: string;
}

/** Asks for the first page of the list; `force` asks again over a request the socket lost. */
export function requestSessions(state: ChatState, force = false): Step {
  const { sessions } = state;
  if (!sessions.supported || (sessions.loading && !force) || state.connection.phase !== "open") return [state, []];
  return [
    { ...state, sessions: { ...sessions, loading: true, requested: undefined } },
    [{ type: "send", frame: { action: "listSessions", limit: SESSIONS_PAGE } }],
  ];
}

export function loadMoreSessions(state: ChatState): Step {
  const { sessions } = state;
  if (!sessions.supported || !sessions.cursor || sessions.loading || !isReady(state)) return [state, []];
  return [
    { ...state, sessions: { ...sessions, loading: true, requested: sessions.cursor } },
    [{ type: "send", frame: { action: "listSessions", limit: SESSIONS_PAGE, cursor: sessions.cursor } }],
  ];
}

export function renameSession(state: ChatState, sessionId: string, title: string): Step {
  const trimmed = title.trim();
  if (trimmed === "" || !isReady(state)) return [state, []];
  // Shown at once; the server's sessionUpdated brings the title as it stored it.
  return [withSessionItem(state, sessionId, { title: trimmed }), [{ type: "send", frame: { action: "renameSession", sessionId, title: trimmed } }]];
}

/** Asked after the user confirmed it. */
export function deleteSession(state: ChatState, sessionId: string): Step {
  if (!isReady(state)) return [state, []];
  return [{ ...state, deleting: sessionId }, [{ type: "send", frame: { action: "deleteSession", sessionId } }]];
}

/** Another chat on screen (undefined: a new one): a fresh state on a new socket, the list kept. */
export function switchSession(state: ChatState, sessionId: string | undefined, fromUrl: boolean): Step {
  if (sessionId !== undefined && sessionId === state.sessionId) return [state, []];
  const fresh = initialState(sessionId, state.sessions, state.clock);
  const next: ChatState = { ...fresh, connection: { ...fresh.connection, phase: "connecting" } };
  const commands: Command[] = [
    { type: "cancel", timer: "reconnect" },
    { type: "cancel", timer: "pump" },
    { type: "cancel", timer: "stopTimeout" },
    { type: "open", sessionId },
  ];
  if (!fromUrl) commands.push({ type: "showSession", sessionId, push: true });
  return [next, commands];
}

/** A page of the list: the first replaces it, a later one adds the chats not listed yet. */
export function sessionsReceived(state: ChatState, page: SessionListItem[], cursor: string | undefined): ChatState {
  const first = state.sessions.requested === undefined;
  const known = new Map(state.sessions.items.map((i) => [i.sessionId, i]));
  const received = page.map((s) => (s.title ? s : { ...s, title: known.get(s.sessionId)?.title ?? "" }));
  const items = first ? received : [...state.sessions.items, ...received.filter((s) => !known.has(s.sessionId))];
  const current = page.find((s) => s.sessionId === state.sessionId);
  const session = current && state.session && current.title && current.title !== state.session.title ? { ...state.session, title: current.title } : state.session;
  const listed = { ...state, session, sessions: { ...state.sessions, items, cursor, loading: false, loaded: true, requested: undefined } };
  // A session that just got its first message may not be in the list yet: keep it on top.
  return state.messages.length > 0 && !current ? touchCurrentSession(listed, state.messages.at(-1)!.createdAt) : listed;
}

/**
 * A chat's new title (and time) in the sidebar, kept newest first; a chat not listed yet (begun
 * in another tab, told at its first message) is added. The chat on screen takes the title too.
 * An empty title is a chat not titled yet: what this tab calls it (its first message, a rename)
 * stays, as a title once set never goes back to empty; and the time only moves forward.
 */
export function withSessionItem(state: ChatState, sessionId: string, change: { title: string; updatedAt?: number }): ChatState {
  const existing = state.sessions.items.find((i) => i.sessionId === sessionId);
  const title = change.title || existing?.title || "";
  const item = { sessionId, title, updatedAt: Math.max(change.updatedAt ?? 0, existing?.updatedAt ?? 0) };
  const items = [...state.sessions.items.filter((i) => i.sessionId !== sessionId), item].sort((a, b) => b.updatedAt - a.updatedAt);
  const session = state.session && state.session.sessionId === sessionId && change.title ? { ...state.session, title: change.title } : state.session;
  return { ...state, session, sessions: { ...state.sessions, items } };
}

/** The session as getSession read it: a title it has is the one listed. */
export function withListedTitle(state: ChatState, session: SessionInfo): ChatState {
  if (!session.title) return state;
  return { ...state, sessions: { ...state.sessions, items: state.sessions.items.map((i) => (i.sessionId === session.sessionId ? { ...i, title: session.title } : i)) } };
}

/** The sidebar shows the current session on top as soon as it has news. */
export function touchCurrentSession(state: ChatState, at: number): ChatState {
  const { sessionId } = state;
  if (!sessionId) return state;
  const existing = state.sessions.items.find((i) => i.sessionId === sessionId);
  if (existing && existing.updatedAt >= at && state.sessions.items[0] === existing) return state;
  // Until the server titles it (after the first exchange), a chat is called by its first message.
  const provisional = state.messages.find((m) => m.role === "USER")?.message.slice(0, 80) ?? "";
  const item = { sessionId, title: existing?.title || state.session?.title || provisional, updatedAt: Math.max(at, existing?.updatedAt ?? 0) };
  return { ...state, sessions: { ...state.sessions, items: [item, ...state.sessions.items.filter((i) => i.sessionId !== sessionId)] } };
}

/** A chat deleted (here or in another tab) leaves the list; the one on screen gives way to a new chat. */
export function sessionDeleted(state: ChatState, sessionId: string): Step {
  const sessions = { ...state.sessions, items: state.sessions.items.filter((i) => i.sessionId !== sessionId) };
  const next = { ...state, sessions, deleting: state.deleting === sessionId ? undefined : state.deleting };
  if (sessionId !== state.sessionId) return [next, []];
  const [fresh, commands] = switchSession(next, undefined, false);
  return [state.deleting === sessionId ? fresh : withNotice(fresh, "deleted", { text: "That chat was deleted in another tab." }), commands];
}

/** The server has no listSessions (an UNKNOWN_ROUTE listing what it has while a page was asked for): the list is hidden. */
export function listingUnsupported(state: ChatState, routes: string[]): Step | undefined {
  if (!state.sessions.loading || routes.includes("listSessions")) return undefined;
  return [{ ...state, sessions: { ...state.sessions, loading: false, supported: false } }, []];
}

/** A rename or delete of a chat in the sidebar was refused: it is about that chat, not this one; undefined for any other error. */
export function sessionRefused(state: ChatState, frame: ErrorFrameLike): Step | undefined {
  if (typeof frame.sessionId !== "string" || (frame.code !== "NOT_FOUND" && frame.code !== "BAD_REQUEST")) return undefined;
  const gone = frame.code === "NOT_FOUND";
  const sessions = gone ? { ...state.sessions, items: state.sessions.items.filter((i) => i.sessionId !== frame.sessionId) } : state.sessions;
  const deleting = state.deleting === frame.sessionId ? undefined : state.deleting;
  return [withNotice({ ...state, sessions, deleting }, `session:${frame.sessionId}`, { text: gone ? "That chat no longer exists." : frame.message || "The server could not accept that name." }), []];
}

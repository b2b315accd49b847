/**
 * The chat client's state machine: every socket event, server frame and user action goes
 * through `update`, which returns the next state and the commands to carry out (open a
 * socket, send a frame, set a timer, show the session in the URL). It is pure — time and
 * randomness come in with the events — so it is tested without a browser or a socket;
 * `ChatConnection` (connection.ts) is the one place that performs the commands.
 *
 * `update` is the dispatcher: each concern keeps its slice and the pure functions over it in
 * `state/` (the connection and catch-up after a reconnect, the outbox, the session list,
 * notices, retries); what stays here is what several share: the messages and their merge, the
 * frames in, and the order in which an error is matched to the request it is about.
 */
import { characterCount, jobQuestion, MAX_MESSAGE_CHARS } from "@azuchi/core/contracts";
import { describeError, tooLongText } from "./errors.ts";
import { frameBytes, MAX_CLIENT_FRAME_BYTES, parseFrame, type ChatMessage, type ErrorFrameLike, type IncomingFrame } from "./protocol.ts";
import { catchUpRefused, closed, connect, loadOlder, opened, sessionReceived, signInRequired, suspend } from "./state/catch-up.ts";
import { isReady, type ChatState, type Command, type Step } from "./state/model.ts";
import { withNotice, withoutNotice } from "./state/notices.ts";
import { acked, enqueue, pump, requeueSending, resendOffered, retrySend, sendRefused } from "./state/outbox.ts";
import { regenerateReply, retryAcked, retryMessage, retryRefused } from "./state/retries.ts";
import { deleteSession, listingUnsupported, loadMoreSessions, renameSession, requestSessions, sessionDeleted, sessionRefused, sessionsReceived, switchSession, touchCurrentSession, withSessionItem, TITLE_REFRESH_MS } from "./state/sessions.ts";
import { addDelta } from "./streams.ts";

export { CATCH_UP_OVERLAP_MS, CATCH_UP_PAGE, PAGE_SIZE, UNREACHABLE_AFTER, type ConnectionPhase, type ConnectionState } from "./state/catch-up.ts";
export { initialState, type ChatState, type Command, type Timer } from "./state/model.ts";
export type { Notice } from "./state/notices.ts";
export { ACK_TIMEOUT_MS, RATE_LIMIT_RETRY_MS, RESEND_AFTER_ERROR_MS, type OutgoingMessage } from "./state/outbox.ts";
export type { PendingRetry } from "./state/retries.ts";
export { SESSIONS_PAGE, TITLE_REFRESH_MS } from "./state/sessions.ts";

export const STOP_TIMEOUT_MS = 5_000;

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

export function update(state: ChatState, event: ChatEvent): Step {
  switch (event.type) {
    case "connect":
      return connect(state);
    case "opened":
      return opened(state);
    case "closed":
      return closed(state, event.now, event.random);
    case "suspend":
      return suspend(state);
    case "signInRequired":
      return signInRequired(state);
    case "frame":
      return received(state, event.data, event.now);
    case "send":
      return queueMessage(state, event.text, event.clientMessageId, event.now);
    case "retrySend":
      return retrySend(state, event.noticeId, event.now);
    case "retryMessage":
      return retryMessage(state, event.messageId, event.retryId);
    case "regenerateReply":
      return regenerateReply(state, event.messageId, event.regenerateId);
    case "renameSession":
      return renameSession(state, event.sessionId, event.title);
    case "deleteSession":
      return deleteSession(state, event.sessionId);
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
    case "loadOlder":
      return loadOlder(state);
    case "loadMoreSessions":
      return loadMoreSessions(state);
    case "refreshSessions":
      return requestSessions(state);
    case "switchSession":
      return switchSession(state, event.sessionId, event.fromUrl);
    case "dismiss":
      return [withoutNotice(state, event.noticeId), []];
  }
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
    case "ack":
      return retryAcked(state, frame.clientMessageId) ?? messageAcked(state, frame);
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
      return sessionReceived(mergeMessages(state, frame.messages, true), frame.session, frame.messages);
    case "sessions":
      return [sessionsReceived(state, frame.sessions, frame.cursor), []];
    case "sessionUpdated":
      return [withSessionItem(state, frame.session.sessionId, frame.session), []];
    case "sessionDeleted":
      return sessionDeleted(state, frame.sessionId);
    case "error":
      return errorReceived(state, frame);
  }
}

/**
 * A queued message was stored: it shows as the USER message it now is, and the next one goes.
 * The ack carries the stored message (no `message` frame of it comes to this tab); an ack
 * without one (an older server) shows the text sent until the message frame replaces it.
 */
function messageAcked(state: ChatState, frame: Extract<IncomingFrame, { type: "ack" }>): Step {
  const taken = acked(state, frame.clientMessageId);
  // An ack of a message this tab no longer waits for (sent again after a reconnect) still shows it.
  if (!taken) return frame.message ? [touchCurrentSession(mergeMessages(state, [frame.message], true), frame.createdAt), []] : [state, []];
  const shown: ChatMessage = frame.message ?? {
    sessionId: state.sessionId ?? "",
    createdAt: frame.createdAt,
    messageId: frame.messageId,
    role: "USER",
    messageType: "CONVERSATION",
    message: taken.item.text,
  };
  const [pumped, commands] = pump(touchCurrentSession(mergeMessages(taken.state, [shown], frame.message !== undefined), frame.createdAt));
  return [pumped, [{ type: "cancel", timer: "ackTimeout" }, ...commands]];
}

/**
 * An error frame names its request only sometimes, so it is matched in this order: a route the
 * server lacks, a retry, a chat of the sidebar, the message on the wire, the catch-up, a
 * message offered again; anything else is a notice.
 */
function errorReceived(state: ChatState, frame: ErrorFrameLike): Step {
  const human = describeError(frame);
  return (
    routeMissing(state, frame) ??
    retryRefused(state, frame) ??
    sessionRefused(state, frame) ??
    sendRefused(state, frame, human) ??
    catchUpRefused(state, frame, human) ??
    resendOffered(state, frame, human) ??
    [withNotice(state, `error:${state.seq + 1}`, human), []]
  );
}

/** The server lists what it supports: a missing feature is hidden rather than reported. */
function routeMissing(state: ChatState, frame: ErrorFrameLike): Step | undefined {
  const routes = Array.isArray(frame.routes) ? frame.routes.filter((r): r is string => typeof r === "string") : undefined;
  if (frame.code !== "UNKNOWN_ROUTE" || !routes) return undefined;
  // (Which request this answers is unknown; an action missing from the list is enough.)
  const unlisted = listingUnsupported(state, routes);
  if (unlisted) return unlisted;
  if (state.stopping && !routes.includes("stopGeneration")) {
    return [withNotice({ ...state, stopping: false, canStop: false }, "stop", { text: "This server cannot stop an answer yet." }), [{ type: "cancel", timer: "stopTimeout" }]];
  }
  return undefined;
}

function queueMessage(state: ChatState, text: string, clientMessageId: string, now: number): Step {
  if (text.trim() === "") return [state, []];
  const length = characterCount(text);
  if (length > MAX_MESSAGE_CHARS) return [withNotice(state, "tooLong", { text: tooLongText(length, MAX_MESSAGE_CHARS) }), []];
  if (frameBytes({ action: "putMessage", message: text, clientMessageId, ...state.clock }) > MAX_CLIENT_FRAME_BYTES) {
    return [withNotice(state, "tooLong", { text: "This message is too large to send in one piece. Shorten it and send again." }), []];
  }
  return enqueue(withoutNotice(withoutNotice(state, "tooLong"), "refused"), text, clientMessageId, now);
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

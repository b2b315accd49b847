import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../../packages/web/src/chat/protocol.ts";
import { ACK_TIMEOUT_MS, CATCH_UP_OVERLAP_MS, CATCH_UP_PAGE, initialState, RESEND_AFTER_ERROR_MS, PAGE_SIZE, update, type ChatEvent, type ChatState, type Command } from "../../packages/web/src/chat/state.ts";

const SESSION = "5b0d1b4e-7c4a-4d6e-9a43-0f1b2c3d4e5f";
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

const message = (n: number, overrides: Partial<ChatMessage> = {}): ChatMessage => ({
  sessionId: SESSION,
  createdAt: 1_000 + n,
  messageId: id(n),
  role: "AGENT",
  messageType: "CONVERSATION",
  message: `message ${n}`,
  ...overrides,
});

/** Runs events in order; returns the final state and every command issued. */
function run(state: ChatState, ...events: ChatEvent[]): { state: ChatState; commands: Command[] } {
  const commands: Command[] = [];
  for (const event of events) {
    const [next, issued] = update(state, event);
    state = next;
    commands.push(...issued);
  }
  return { state, commands };
}

const frame = (data: object, now = 10_000): ChatEvent => ({ type: "frame", data: JSON.stringify(data), now });
const sessionFrame = (messages: ChatMessage[], title = "") =>
  frame({ type: "session", session: { sessionId: SESSION, userId: "alice", title, createdAt: 1, updatedAt: 2 }, messages });
const sent = (commands: Command[]) => commands.filter((c) => c.type === "send").map((c) => (c.type === "send" ? c.frame : undefined));

/** A tab that connected and loaded `messages`. */
function synced(messages: ChatMessage[] = []): ChatState {
  return run(initialState(SESSION), { type: "connect", now: 0 }, { type: "opened", now: 1 }, sessionFrame(messages)).state;
}

describe("the chat state machine", () => {
  it("opens, asks for the newest page and the session list, then is in sync", () => {
    const { state, commands } = run(initialState(SESSION), { type: "connect", now: 0 }, { type: "opened", now: 1 });
    expect(commands[1]).toEqual({ type: "open", sessionId: SESSION });
    expect(sent(commands)).toEqual([{ action: "getSession", limit: PAGE_SIZE }, { action: "listSessions", limit: 30 }]);
    expect(state.connection.synced).toBe(false);
    const loaded = run(state, sessionFrame([message(1)])).state;
    expect(loaded.connection.synced).toBe(true);
    expect(loaded.messages).toHaveLength(1);
    expect(loaded.history.hasOlder).toBe(false);
  });

  it("learns a new session's id from the session frame and puts it in the URL", () => {
    const { state, commands } = run(initialState(undefined), { type: "connect", now: 0 }, { type: "opened", now: 1 }, sessionFrame([]));
    expect(state.sessionId).toBe(SESSION);
    expect(commands).toContainEqual({ type: "showSession", sessionId: SESSION, push: false });
  });

  it("sends one message at a time, each with its clientMessageId, in the order typed", () => {
    const { state, commands } = run(
      synced(),
      { type: "send", text: "first", clientMessageId: id(101), now: 5 },
      { type: "send", text: "second", clientMessageId: id(102), now: 6 },
    );
    expect(sent(commands)).toEqual([{ action: "putMessage", message: "first", clientMessageId: id(101) }]);
    expect(state.outbox.map((o) => [o.text, o.status])).toEqual([["first", "sending"], ["second", "queued"]]);

    const acked = run(state, frame({ type: "ack", clientMessageId: id(101), messageId: id(1), createdAt: 2_000 }));
    expect(sent(acked.commands)).toEqual([{ action: "putMessage", message: "second", clientMessageId: id(102) }]);
    expect(acked.state.messages.map((m) => [m.role, m.message])).toEqual([["USER", "first"]]);
  });

  it("shows the stored USER message an ack carries (this tab gets no message frame of it), also for an ack it no longer waits for", () => {
    const sending = run(synced(), { type: "send", text: "hello 🎌", clientMessageId: id(101), now: 5 }).state;
    const stored = { sessionId: SESSION, createdAt: 2_000, messageId: id(1), role: "USER", messageType: "CONVERSATION", message: "hello 🎌", jobId: id(1), connectionId: "c1" };
    const acked = run(sending, frame({ type: "ack", clientMessageId: id(101), messageId: id(1), createdAt: 2_000, message: stored }));
    expect(acked.state.messages).toEqual([stored]);
    expect(acked.state.outbox).toEqual([]);
    // Sent again after a reconnect and acked twice: the second ack finds nothing waiting, and still shows the message.
    const late = run(synced(), frame({ type: "ack", clientMessageId: id(102), messageId: id(2), createdAt: 3_000, message: { ...stored, messageId: id(2), jobId: id(2), createdAt: 3_000 } }));
    expect(late.state.messages.map((m) => m.messageId)).toEqual([id(2)]);
  });

  it("keeps messages typed while offline and sends them after the reconnect has caught up", () => {
    const dropped = run(synced([message(1)]), { type: "closed", now: 100, random: 0 }).state;
    const typed = run(dropped, { type: "send", text: "while offline", clientMessageId: id(101), now: 150 });
    expect(sent(typed.commands)).toEqual([]);
    expect(typed.state.outbox[0]?.status).toBe("queued");

    const reopened = run(typed.state, { type: "connect", now: 600 }, { type: "opened", now: 700 });
    // Catch-up first: what was missed, from a little before the newest message seen.
    expect(sent(reopened.commands)[0]).toEqual({ action: "getSession", after: Math.max(0, message(1).createdAt - CATCH_UP_OVERLAP_MS), limit: CATCH_UP_PAGE });
    expect(sent(reopened.commands).some((f) => f?.action === "putMessage")).toBe(false);

    const caughtUp = run(reopened.state, sessionFrame([message(1), message(2)]));
    expect(caughtUp.state.messages.map((m) => m.messageId)).toEqual([id(1), id(2)]);
    expect(sent(caughtUp.commands)).toEqual([{ action: "putMessage", message: "while offline", clientMessageId: id(101) }]);
  });

  it("catches up page after page from each page's newest message, even when a live frame is newer", () => {
    const dropped = run(synced([message(1)]), { type: "closed", now: 100, random: 0 }).state;
    const reopened = run(dropped, { type: "connect", now: 600 }, { type: "opened", now: 700 }).state;
    // A live agent log lands while the catch-up is on its way.
    const live = run(reopened, frame({ type: "message", message: message(5_000) })).state;
    const page = Array.from({ length: CATCH_UP_PAGE }, (_, i) => message(10 + i));
    const next = run(live, sessionFrame(page));
    expect(sent(next.commands)).toEqual([{ action: "getSession", after: page.at(-1)!.createdAt, limit: CATCH_UP_PAGE }]);
  });

  it("sends a message again with the same clientMessageId when the socket dropped before its ack", () => {
    const sending = run(synced(), { type: "send", text: "hello", clientMessageId: id(101), now: 5 }).state;
    const again = run(sending, { type: "closed", now: 10, random: 0.5 }, { type: "connect", now: 1_000 }, { type: "opened", now: 1_001 }, sessionFrame([]));
    expect(sent(again.commands).filter((f) => f?.action === "putMessage")).toEqual([{ action: "putMessage", message: "hello", clientMessageId: id(101) }]);
  });

  it("sends a message again, with the same clientMessageId, when its ack does not come", () => {
    const { state, commands } = run(synced(), { type: "send", text: "lost ack", clientMessageId: id(120), now: 5 });
    expect(commands).toContainEqual({ type: "later", timer: "ackTimeout", delayMs: ACK_TIMEOUT_MS });
    const again = run(state, { type: "ackTimedOut" });
    expect(sent(again.commands)).toEqual([{ action: "putMessage", message: "lost ack", clientMessageId: id(120) }]);
    // Once acked, nothing more is resent.
    const acked = run(again.state, frame({ type: "ack", clientMessageId: id(120), messageId: id(121), createdAt: 2_000 }));
    expect(acked.commands).toContainEqual({ type: "cancel", timer: "ackTimeout" });
    expect(acked.state.outbox).toEqual([]);
  });

  it("does not leave the queue waiting when an error that names no message comes while one is on the wire", () => {
    const { state } = run(synced(), { type: "send", text: "a", clientMessageId: id(130), now: 5 }, { type: "send", text: "b", clientMessageId: id(131), now: 6 });
    const failed = run(state, frame({ type: "error", code: "INTERNAL", message: "Something went wrong on our side; please try again." }));
    expect(failed.state.outbox.map((o) => o.status)).toEqual(["queued", "queued"]);
    expect(failed.commands).toContainEqual({ type: "later", timer: "pump", delayMs: RESEND_AFTER_ERROR_MS });
    expect(sent(run(failed.state, { type: "pump" }).commands)).toEqual([{ action: "putMessage", message: "a", clientMessageId: id(130) }]);
  });


  it("reconnects, keeping what it has to send, when the server finds no session for the connection while the tab catches up after a drop", () => {
    const { state } = run(synced(), { type: "send", text: "after a lost ack", clientMessageId: id(140), now: 5 }, { type: "closed", now: 6, random: 0 }, { type: "connect", now: 7 }, { type: "opened", now: 8 });
    const notFound = frame({ type: "error", code: "NOT_FOUND", message: "This connection has no session; reconnect." });
    const first = run(state, notFound);
    expect(first.commands).toEqual([{ type: "dropSocket" }]);
    expect(first.state.notices).toEqual([]);
    // The connection performs the drop as a close: the tab backs off and reconnects, the message still queued.
    const again = run(first.state, { type: "closed", now: 9, random: 0 }, { type: "connect", now: 10 }, { type: "opened", now: 11 });
    expect(again.state.outbox.map((o) => [o.text, o.status])).toEqual([["after a lost ack", "queued"]]);
    const synced2 = run(again.state, sessionFrame([]));
    expect(sent(synced2.commands)).toEqual([{ action: "putMessage", message: "after a lost ack", clientMessageId: id(140) }]);
    // Twice in a row is the server meaning it: the user is told, and the tab stops asking.
    const twice = run(again.state, notFound);
    expect(twice.commands).toEqual([]);
    expect(twice.state.notices.map((n) => n.id)).toEqual(["notFound"]);
  });
  it("drops a failed attempt's streamed text when its notice arrives in a catch-up page, not only live", () => {
    const reply = id(140);
    let { state } = run(synced(), frame({ type: "delta", messageId: reply, offset: 0, delta: "half an answer" }));
    expect(state.streams[reply]).toBeDefined();
    state = run(state, sessionFrame([message(141, { role: "SYSTEM", messageType: "SYSTEM_LOG", message: "retrying…", jobId: id(142) })])).state;
    expect(state.streams).toEqual({});
  });

  it("shows a stored message once, whether it comes as ack, message frame or catch-up", () => {
    const sending = run(synced(), { type: "send", text: "once", clientMessageId: id(101), now: 5 }).state;
    const stored = message(7, { role: "USER", message: "once" });
    const { state } = run(
      sending,
      frame({ type: "ack", clientMessageId: id(101), messageId: stored.messageId, createdAt: stored.createdAt }),
      frame({ type: "message", message: stored }),
      sessionFrame([stored]),
    );
    expect(state.messages.filter((m) => m.message === "once")).toHaveLength(1);
    expect(state.outbox).toEqual([]);
  });

  it("backs off between reconnect attempts, longer each time, and starts over once in sync", () => {
    let state = synced();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const result = run(state, { type: "closed", now: 0, random: 0.99 }, { type: "connect", now: 0 });
      const later = result.commands.find((c) => c.type === "later");
      delays.push(later?.type === "later" ? later.delayMs : -1);
      state = result.state;
    }
    expect(delays).toEqual([...delays].sort((a, b) => a - b));
    expect(delays[4]).toBeGreaterThan(delays[0]! * 8);
    const back = run(state, { type: "opened", now: 0 }, sessionFrame([])).state;
    expect(back.connection.attempt).toBe(0);
  });

  it("tells the user when a session keeps refusing the connection", () => {
    let state = run(initialState(SESSION), { type: "connect", now: 0 }).state;
    for (let i = 0; i < 3; i++) state = run(state, { type: "closed", now: 0, random: 0 }, { type: "connect", now: 0 }).state;
    expect(state.notices.map((n) => n.action)).toContain("newChat");
  });

  it("stops reconnecting and asks to sign in again when the token has expired", () => {
    const { state, commands } = run(synced(), { type: "closed", now: 0, random: 0 }, { type: "signInRequired" }, { type: "closed", now: 1, random: 0 });
    expect(state.connection.phase).toBe("signedOut");
    expect(state.notices.at(-1)).toMatchObject({ action: "signIn", text: expect.stringContaining("Sign in again") });
    expect(commands.at(-1)).toEqual({ type: "cancel", timer: "reconnect" });
  });

  it("builds a streamed reply from deltas, shows gaps, and lets the final message replace it", () => {
    const reply = message(9, { message: "Hello, world!" });
    let { state } = run(synced(), frame({ type: "delta", messageId: reply.messageId, offset: 0, delta: "Hello" }));
    expect(state.streams[reply.messageId]?.chunks).toEqual([{ offset: 0, text: "Hello" }]);
    // Joined late or missed a delta: the piece is placed where it belongs.
    state = run(state, frame({ type: "delta", messageId: reply.messageId, offset: 7, delta: "world" })).state;
    expect(state.streams[reply.messageId]?.chunks).toEqual([{ offset: 0, text: "Hello" }, { offset: 7, text: "world" }]);
    state = run(state, frame({ type: "delta", messageId: reply.messageId, offset: 5, delta: ", " })).state;
    expect(state.streams[reply.messageId]?.chunks).toEqual([{ offset: 0, text: "Hello, world" }]);
    state = run(state, frame({ type: "message", message: reply })).state;
    expect(state.streams).toEqual({});
    expect(state.messages.at(-1)?.message).toBe("Hello, world!");
    // A late delta of a finished reply changes nothing.
    expect(run(state, frame({ type: "delta", messageId: reply.messageId, offset: 0, delta: "x" })).state.streams).toEqual({});
  });

  it("reassembles a frame sent in parts", () => {
    const data = JSON.stringify({ type: "message", message: message(3, { message: "長い".repeat(10) }) });
    const third = Math.ceil(data.length / 3);
    const parts = [0, 1, 2].map((index) => ({ type: "part", partId: "p1", index, count: 3, data: data.slice(index * third, (index + 1) * third) }));
    const { state } = run(synced(), frame(parts[2]!), frame(parts[0]!), frame(parts[1]!));
    expect(state.messages.at(-1)?.message).toBe("長い".repeat(10));
    expect(state.parts).toEqual({});
  });

  it("refuses a message over the limit on the spot, saying how long it may be", () => {
    const { state, commands } = run(synced(), { type: "send", text: "あ".repeat(8_001), clientMessageId: id(101), now: 5 });
    expect(commands).toEqual([]);
    expect(state.outbox).toEqual([]);
    expect(state.notices[0]?.text).toContain("8,001 characters long; a message can have at most 8,000");
  });

  it("counts characters as people do: 8,000 emoji are not too long", () => {
    const { state } = run(synced(), { type: "send", text: "🍣".repeat(8_000), clientMessageId: id(101), now: 5 });
    expect(state.outbox).toHaveLength(1);
  });

  it("turns the server's refusal of the message on the wire into a notice and gives the text back", () => {
    const sending = run(synced(), { type: "send", text: "too long for this server", clientMessageId: id(101), now: 5 }).state;
    const { state } = run(sending, frame({ type: "error", code: "MESSAGE_TOO_LONG", message: "too long", limit: 10, length: 24 }));
    expect(state.outbox).toEqual([]);
    expect(state.notices[0]?.text).toBe("Your message is 24 characters long; a message can have at most 10. Shorten it and send again.");
    expect(state.returned?.text).toBe("too long for this server");
  });

  it("waits and sends again when rate limited", () => {
    const sending = run(synced(), { type: "send", text: "hi", clientMessageId: id(101), now: 5 }).state;
    const limited = run(sending, frame({ type: "error", code: "RATE_LIMITED", message: "slow down" }));
    expect(limited.state.outbox[0]?.status).toBe("queued");
    expect(limited.commands).toContainEqual({ type: "later", timer: "pump", delayMs: 1_500 });
    expect(sent(run(limited.state, { type: "pump" }).commands)).toEqual([{ action: "putMessage", message: "hi", clientMessageId: id(101) }]);
  });

  it("offers to send again when the message was saved but the agent could not be reached", () => {
    const stored = message(4, { role: "USER", message: "please answer" });
    const { state } = run(synced([stored]), frame({ type: "error", code: "INTERNAL", message: "queue down", messageId: stored.messageId, clientMessageId: id(101) }));
    const notice = state.notices[0]!;
    expect(notice.action).toBe("retrySend");
    const retried = run(state, { type: "retrySend", noticeId: notice.id, now: 50 });
    expect(sent(retried.commands)).toEqual([{ action: "putMessage", message: "please answer", clientMessageId: id(101) }]);
  });

  it("stops the answer once, and hides Stop on a server without stopGeneration", () => {
    const stopping = run(synced(), { type: "stop" }, { type: "stop" });
    expect(sent(stopping.commands)).toEqual([{ action: "stopGeneration" }]);
    // Neither listSessions (sent on open) nor stopGeneration is known: one error each, in order.
    const unknown = frame({ type: "error", code: "UNKNOWN_ROUTE", message: "no", routes: ["putMessage", "getSession"] });
    const unsupported = run(stopping.state, unknown, unknown).state;
    expect(unsupported.canStop).toBe(false);
    expect(unsupported.stopping).toBe(false);
  });

  it("pages back through older messages with getSession before", () => {
    const page = Array.from({ length: PAGE_SIZE }, (_, i) => message(100 + i));
    const loaded = run(initialState(SESSION), { type: "connect", now: 0 }, { type: "opened", now: 1 }, sessionFrame(page)).state;
    expect(loaded.history.hasOlder).toBe(true);
    const asked = run(loaded, { type: "loadOlder" }, { type: "loadOlder" });
    expect(sent(asked.commands)).toEqual([{ action: "getSession", before: message(100).createdAt, limit: PAGE_SIZE }]);
    const older = run(asked.state, sessionFrame([message(1), message(2)])).state;
    expect(older.messages.slice(0, 3).map((m) => m.messageId)).toEqual([id(1), id(2), id(100)]);
    expect(older.history).toMatchObject({ hasOlder: false, loadingOlder: false });
  });

  it("lists sessions, pages on with the cursor, and keeps the current one on top when it has news", () => {
    const other = "6c1e2c5f-8d5b-4e7f-8b54-1a2b3c4d5e6f";
    let { state } = run(synced(), frame({ type: "sessions", sessions: [{ sessionId: other, title: "Older chat", updatedAt: 500 }], cursor: "next" }));
    expect(state.sessions.items.map((s) => s.title)).toEqual(["Older chat"]);
    const more = run(state, { type: "loadMoreSessions" });
    expect(sent(more.commands)).toEqual([{ action: "listSessions", limit: 30, cursor: "next" }]);
    state = run(more.state, frame({ type: "sessions", sessions: [] })).state;
    expect(state.sessions.cursor).toBeUndefined();
    state = run(state, frame({ type: "message", message: message(5, { role: "USER", message: "京都の計画 🍵" }) })).state;
    expect(state.sessions.items.map((s) => s.sessionId)).toEqual([SESSION, other]);
  });

  it("hides the session list on a server without listSessions", () => {
    const state = run(initialState(SESSION), { type: "connect", now: 0 }, { type: "opened", now: 1 }, frame({ type: "error", code: "UNKNOWN_ROUTE", message: "?", routes: ["putMessage", "getSession"] })).state;
    expect(state.sessions.supported).toBe(false);
    expect(state.notices).toEqual([]);
  });

  it("starts over on another session, keeping the session list, and puts it in the URL", () => {
    const other = "6c1e2c5f-8d5b-4e7f-8b54-1a2b3c4d5e6f";
    const before = run(synced([message(1)]), frame({ type: "sessions", sessions: [{ sessionId: other, title: "t", updatedAt: 1 }] })).state;
    const { state, commands } = run(before, { type: "switchSession", sessionId: other, fromUrl: false });
    expect(state.messages).toEqual([]);
    expect(state.sessionId).toBe(other);
    expect(state.sessions.items).toHaveLength(before.sessions.items.length);
    expect(commands).toContainEqual({ type: "open", sessionId: other });
    expect(commands).toContainEqual({ type: "showSession", sessionId: other, push: true });
  });

  it("ignores frames it cannot read and keeps messages of types it does not know", () => {
    const unknown = message(3, { messageType: "WORK_ORDER_PREVIEW", message: "WO-17" });
    const { state } = run(synced(), { type: "frame", data: "not json", now: 0 }, frame({ type: "surprise" }), frame({ type: "message", message: unknown }));
    expect(state.messages).toEqual([unknown]);
  });
});

describe("Retry of a message the agent gave up on", () => {
  const question = message(1, { role: "USER", message: "please" });
  const notice = (n: number, attempt: number, final: boolean) =>
    message(n, { role: "SYSTEM", messageType: "SYSTEM_LOG", jobId: id(1), message: final ? "gave up" : `attempt ${attempt}`, payload: { attempt, final } });
  const gaveUp = () => synced([question, notice(2, 1, false), notice(3, 2, false), notice(4, 3, true)]);

  it("sends retryMessage once, is queued once acked, and ends when the new attempt says something", () => {
    const asked = run(gaveUp(), { type: "retryMessage", messageId: id(1), retryId: id(900) }, { type: "retryMessage", messageId: id(1), retryId: id(901) });
    expect(sent(asked.commands)).toEqual([{ action: "retryMessage", messageId: id(1), retryId: id(900) }]);
    expect(asked.state.retries[id(1)]).toEqual({ retryId: id(900), status: "sending" });
    const acked = run(asked.state, frame({ type: "ack", clientMessageId: id(900), messageId: id(1), createdAt: question.createdAt }));
    expect(acked.state.retries[id(1)]?.status).toBe("queued");
    expect(acked.state.messages).toHaveLength(4);
    // The same notice seen again (a catch-up) is no news; a new attempt's notice is.
    const again = run(acked.state, frame({ type: "message", message: notice(4, 3, true) }));
    expect(again.state.retries[id(1)]).toBeDefined();
    const begun = run(again.state, frame({ type: "message", message: notice(5, 1, false) }));
    expect(begun.state.retries).toEqual({});
  });

  it("is not sent while the tab is out of sync, and one not yet acked is offered again after a drop", () => {
    const offline = run(gaveUp(), { type: "closed", now: 5, random: 0 });
    expect(run(offline.state, { type: "retryMessage", messageId: id(1), retryId: id(900) }).commands).toEqual([]);
    const asked = run(gaveUp(), { type: "retryMessage", messageId: id(1), retryId: id(900) }, { type: "closed", now: 5, random: 0 });
    expect(asked.state.retries).toEqual({});
  });

  it("says why when the server refuses it, and offers Retry again", () => {
    const refused = run(gaveUp(), { type: "retryMessage", messageId: id(1), retryId: id(900) }, frame({ type: "error", code: "RATE_LIMITED", message: "slow down", retryAfterMs: 900, messageId: id(1), retryId: id(900) }));
    expect(refused.state.retries).toEqual({});
    expect(refused.state.notices.map((n) => n.id)).toEqual([`retry:${id(1)}`]);
    expect(refused.state.outbox).toEqual([]);
  });
});

describe("chats changed in other tabs", () => {
  const OTHER = "6c1e2c5f-8d5b-4e7f-8b54-1a2b3c4d5e6f";
  const listed = () => run(synced([message(1, { role: "USER" })]), frame({ type: "sessions", sessions: [{ sessionId: SESSION, title: "mine", updatedAt: 50 }] })).state;

  it("adds a chat begun elsewhere on top and takes a rename, of the chat on screen too", () => {
    const added = run(listed(), frame({ type: "sessionUpdated", session: { sessionId: OTHER, title: "elsewhere", updatedAt: 90 } })).state;
    expect(added.sessions.items.map((i) => i.title)).toEqual(["elsewhere", "mine"]);
    const renamed = run(added, frame({ type: "sessionUpdated", session: { sessionId: SESSION, title: "renamed", updatedAt: 50 } })).state;
    expect(renamed.sessions.items.map((i) => i.title)).toEqual(["elsewhere", "renamed"]);
    expect(renamed.session?.title).toBe("renamed");
  });

  it("lists a chat begun elsewhere at its first message, untitled, then takes its title; an empty title never hides a name", () => {
    const begun = run(listed(), frame({ type: "sessionUpdated", session: { sessionId: OTHER, title: "", updatedAt: 90 } })).state;
    expect(begun.sessions.items).toEqual([
      { sessionId: OTHER, title: "", updatedAt: 90 },
      { sessionId: SESSION, title: "mine", updatedAt: 50 },
    ]);
    const titled = run(begun, frame({ type: "sessionUpdated", session: { sessionId: OTHER, title: "from the other tab", updatedAt: 95 } })).state;
    expect(titled.sessions.items.map((i) => i.title)).toEqual(["from the other tab", "mine"]);
    // The chat on screen told it has begun (this tab sent its first message) keeps its name and place.
    const own = run(titled, frame({ type: "sessionUpdated", session: { sessionId: SESSION, title: "", updatedAt: 40 } })).state;
    expect(own.sessions.items).toEqual(titled.sessions.items);
    expect(own.session?.title).toBe(titled.session?.title);
  });

  it("renames at once and sends renameSession; deletes only by sending deleteSession, then leaves the chat when it is gone", () => {
    const { state, commands } = run(listed(), { type: "renameSession", sessionId: SESSION, title: "  new name " });
    expect(sent(commands)).toEqual([{ action: "renameSession", sessionId: SESSION, title: "new name" }]);
    expect(state.sessions.items[0]?.title).toBe("new name");
    const asked = run(state, { type: "deleteSession", sessionId: SESSION });
    expect(sent(asked.commands)).toEqual([{ action: "deleteSession", sessionId: SESSION }]);
    expect(asked.state.sessionId).toBe(SESSION);
    const gone = run(asked.state, frame({ type: "sessionDeleted", sessionId: SESSION }));
    expect(gone.state.sessionId).toBeUndefined();
    expect(gone.state.sessions.items).toEqual([]);
    expect(gone.state.notices).toEqual([]);
    expect(gone.commands).toContainEqual({ type: "open", sessionId: undefined });
  });

  it("says so when the chat on screen was deleted in another tab, and just drops another chat from the list", () => {
    const elsewhere = run(listed(), frame({ type: "sessionDeleted", sessionId: SESSION }));
    expect(elsewhere.state.notices.map((n) => n.text)).toEqual(["That chat was deleted in another tab."]);
    const other = run(listed(), frame({ type: "sessionUpdated", session: { sessionId: OTHER, title: "x", updatedAt: 1 } }), frame({ type: "sessionDeleted", sessionId: OTHER }));
    expect(other.state.sessionId).toBe(SESSION);
    expect(other.state.sessions.items.map((i) => i.sessionId)).toEqual([SESSION]);
  });
});

describe("the user's clock", () => {
  it("goes with every message and Retry, and stays when the tab changes chats", () => {
    const clock = { timeZone: "America/New_York", locale: "en-US" };
    const start = run(initialState(SESSION, undefined, clock), { type: "connect", now: 0 }, { type: "opened", now: 1 }, sessionFrame([])).state;
    const { commands } = run(start, { type: "send", text: "what time is it?", clientMessageId: id(101), now: 5 });
    expect(sent(commands)).toEqual([{ action: "putMessage", message: "what time is it?", clientMessageId: id(101), ...clock }]);
    expect(run(start, { type: "retryMessage", messageId: id(1), retryId: id(2) }).commands).toContainEqual({ type: "send", frame: { action: "retryMessage", messageId: id(1), retryId: id(2), ...clock } });
    expect(run(start, { type: "switchSession", sessionId: undefined, fromUrl: false }).state.clock).toEqual(clock);
  });
});

describe("Regenerate", () => {
  it("sends regenerateReply and waits until the new job says anything; the earlier answer stays", () => {
    const question = message(1, { role: "USER", message: "again please" });
    const answer = message(2, { jobId: id(1) });
    const start = synced([question, answer]);
    const asked = run(start, { type: "regenerateReply", messageId: id(1), regenerateId: id(70) });
    expect(sent(asked.commands)).toEqual([{ action: "regenerateReply", messageId: id(1), regenerateId: id(70) }]);
    expect(asked.state.retries[id(1)]).toEqual({ retryId: id(70), status: "sending", jobId: `${id(1)}:${id(70)}` });
    // News of the first job is not the new one beginning.
    const old = run(asked.state, frame({ type: "message", message: message(3, { role: "AGENT", messageType: "AGENT_LOG", jobId: id(1) }) }));
    expect(old.state.retries[id(1)]).toBeDefined();
    const begun = run(old.state, frame({ type: "message", message: message(4, { role: "AGENT", messageType: "AGENT_LOG", jobId: `${id(1)}:${id(70)}` }) }));
    expect(begun.state.retries).toEqual({});
    expect(begun.state.messages.map((m) => m.messageId)).toEqual([id(1), id(2), id(3), id(4)]);
  });
});

describe("a refused rename or delete", () => {
  it("is about that chat: a notice without 'Start a new chat', the chat dropped from the list when it is gone, nothing resent", () => {
    const OTHER = "6c1e2c5f-8d5b-4e7f-8b54-1a2b3c4d5e6f";
    const start = run(synced(), frame({ type: "sessions", sessions: [{ sessionId: OTHER, title: "old", updatedAt: 5 }] })).state;
    const { state, commands } = run(start, frame({ type: "error", code: "NOT_FOUND", message: "There is no such chat of yours.", sessionId: OTHER }));
    expect(state.notices.map((n) => [n.text, n.action])).toEqual([["That chat no longer exists.", undefined]]);
    expect(state.sessions.items).toEqual([]);
    expect(state.sessionId).toBe(SESSION);
    expect(commands).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import { tokenExpiresAt } from "../../packages/web/src/auth/jwt.ts";
import { reconnectDelay, RECONNECT } from "../../packages/web/src/chat/backoff.ts";
import type { ChatMessage } from "../../packages/web/src/chat/protocol.ts";
import { initialState, type ChatState } from "../../packages/web/src/chat/state.ts";
import { addDelta, hasGap } from "../../packages/web/src/chat/streams.ts";
import { isAnswering, STALE_MS, summaryText, toTurns } from "../../packages/web/src/chat/turns.ts";
import { safeUrl } from "../../packages/web/src/ui/safe-url.ts";

const SESSION = "5b0d1b4e-7c4a-4d6e-9a43-0f1b2c3d4e5f";
const NOW = 1_000_000;
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const user = (n: number, text = `question ${n}`): ChatMessage => ({ sessionId: SESSION, createdAt: NOW - 1000 + n, messageId: id(n), role: "USER", messageType: "CONVERSATION", message: text });
const agent = (n: number, job: number, messageType: string, text = `${messageType} ${n}`, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  sessionId: SESSION,
  createdAt: NOW - 1000 + n,
  messageId: id(n),
  role: messageType === "SYSTEM_LOG" ? "SYSTEM" : "AGENT",
  messageType,
  message: text,
  jobId: id(job),
  ...extra,
});

const withMessages = (messages: ChatMessage[], extra: Partial<ChatState> = {}): ChatState => ({ ...initialState(SESSION), messages, ...extra });

describe("turns: what the conversation shows", () => {
  it("groups each USER message with its job's activity, latest plan, notices and reply", () => {
    const plan = (n: number, status: string) => agent(n, 1, "PLAN", "plan", { payload: { explanation: "why", plan: [{ step: "look", status }, { step: "answer", status: "pending" }] } });
    const turns = toTurns(
      withMessages([user(1), agent(2, 1, "AGENT_LOG"), plan(3, "in_progress"), agent(4, 1, "AGENT_LOG"), plan(5, "completed"), agent(6, 1, "SYSTEM_LOG"), agent(7, 1, "CONVERSATION"), user(8)]),
      NOW,
    );
    expect(turns).toHaveLength(2);
    const [first, second] = turns;
    expect(first!.activity.map((m) => m.messageId)).toEqual([id(2), id(4)]);
    expect(first!.plan).toMatchObject({ revision: 2, explanation: "why", steps: [{ step: "look", status: "completed" }, { step: "answer", status: "pending" }] });
    expect(first!.items.map((m) => m.messageType)).toEqual(["SYSTEM_LOG", "CONVERSATION"]);
    expect(first!.status).toBe("done");
    expect(second!.status).toBe("waiting");
  });

  it("sums up a finished turn by its trail's steps and how long it took; a turn still working has no summary", () => {
    const done = toTurns(withMessages([user(1), agent(2, 1, "AGENT_LOG"), agent(3, 1, "AGENT_LOG"), agent(4, 1, "AGENT_LOG"), agent(1201, 1, "CONVERSATION")]), NOW);
    expect(done[0]!.summary).toEqual({ steps: 3, durationMs: 1200 });
    expect(summaryText(done[0]!.summary!, done[0]!.status)).toBe("3 steps · 1.2 s");
    const working = toTurns(withMessages([user(1), agent(2, 1, "AGENT_LOG")]), NOW);
    expect(working[0]!.status).toBe("answering");
    expect(working[0]!.summary).toBeUndefined();
    const stopped = toTurns(withMessages([user(1), agent(2, 1, "AGENT_LOG"), agent(70_001, 1, "CONVERSATION", "part", { stopped: true })]), NOW);
    expect(summaryText(stopped[0]!.summary!, stopped[0]!.status)).toBe("Stopped · 1 step · 1 min 10 s");
  });

  it("shows a job's failure notices as one that updates in place, marks it resolved once answered, and a retried turn as waiting", () => {
    const notice = (n: number, attempt: number, final: boolean) => agent(n, 1, "SYSTEM_LOG", final ? "gave up" : `attempt ${attempt}`, { payload: { attempt, final } });
    const failing = toTurns(withMessages([user(1), agent(2, 1, "AGENT_LOG"), notice(3, 1, false), notice(4, 2, false)]), NOW);
    expect(failing[0]!.items.map((m) => m.message)).toEqual(["attempt 2"]);
    expect(failing[0]!.notice).toMatchObject({ count: 2, final: false, resolved: false });
    expect(failing[0]!.status).toBe("answering");

    const gaveUp = withMessages([user(1), agent(2, 1, "AGENT_LOG"), notice(3, 1, false), notice(4, 2, false), notice(5, 3, true)]);
    const failed = toTurns(gaveUp, NOW)[0]!;
    expect(failed.items.map((m) => m.message)).toEqual(["gave up"]);
    expect(failed).toMatchObject({ status: "failed", notice: { count: 3, final: true } });

    const retrying = toTurns({ ...gaveUp, retries: { [id(1)]: { retryId: id(99), status: "queued" } } }, NOW)[0]!;
    expect(retrying).toMatchObject({ status: "waiting", retry: "queued" });

    const answered = toTurns(withMessages([...gaveUp.messages, notice(6, 1, false), agent(7, 1, "CONVERSATION", "at last")]), NOW)[0]!;
    expect(answered.items.map((m) => m.message)).toEqual(["attempt 1", "at last"]);
    expect(answered).toMatchObject({ status: "done", notice: { count: 4, resolved: true } });
  });

  it("puts a regenerated answer under its question, the earlier one as a previous answer, and none current while the new one is made", () => {
    const regenerated = `${id(1)}:${id(50)}`;
    const first = agent(3, 1, "CONVERSATION", "first answer");
    const making = toTurns(withMessages([user(1), agent(2, 1, "AGENT_LOG"), first, agent(4, 1, "AGENT_LOG", "again", { jobId: regenerated })]), NOW);
    expect(making).toHaveLength(1);
    expect(making[0]).toMatchObject({ status: "answering", previous: [first] });
    expect(making[0]!.reply).toBeUndefined();
    expect(making[0]!.items).toEqual([]);
    const done = toTurns(withMessages([user(1), agent(2, 1, "AGENT_LOG"), first, agent(4, 1, "AGENT_LOG", "again", { jobId: regenerated }), agent(5, 1, "CONVERSATION", "second answer", { jobId: regenerated })]), NOW)[0]!;
    expect(done.reply?.message).toBe("second answer");
    expect(done.previous.map((m) => m.message)).toEqual(["first answer"]);
    expect(done.items.map((m) => m.message)).toEqual(["second answer"]);
    expect(done.status).toBe("done");
  });

  it("marks a turn answered while it streams, and the next one queued behind it", () => {
    const stream = addDelta(undefined, id(9), 0, "Hel", NOW);
    const turns = toTurns(withMessages([user(1), agent(2, 1, "AGENT_LOG"), user(3)], { streams: { [id(9)]: stream } }), NOW);
    expect(turns.map((t) => t.status)).toEqual(["answering", "queued"]);
    expect(turns[0]!.stream).toBe(stream);
    expect(isAnswering(turns)).toBe(true);
  });

  it("shows a stopped reply as stopped and a silent old turn as unanswered", () => {
    const turns = toTurns(withMessages([user(1), agent(2, 1, "CONVERSATION", "partial", { stopped: true }), user(3)]), NOW + STALE_MS + 5_000);
    expect(turns.map((t) => t.status)).toEqual(["stopped", "unanswered"]);
    expect(isAnswering(turns)).toBe(false);
  });

  it("shows messages of a job whose USER message is on an older page, and unknown types as items", () => {
    const turns = toTurns(withMessages([agent(5, 1, "AGENT_LOG"), agent(6, 1, "WORK_ORDER_PREVIEW", "WO-17")]), NOW);
    expect(turns).toHaveLength(1);
    expect(turns[0]!.items.map((m) => m.message)).toEqual(["WO-17"]);
  });

  it("shows messages not yet sent as queued until the connection is back", () => {
    const state = withMessages([], { outbox: [{ clientMessageId: id(1), text: "later", queuedAt: NOW, status: "queued" }] });
    expect(toTurns(state, NOW).map((t) => [t.pending?.text, t.status])).toEqual([["later", "offline"]]);
  });
});

describe("streams", () => {
  it("joins deltas in order and knows where the gaps are", () => {
    let stream = addDelta(undefined, id(1), 4, "o wor", 0);
    expect(hasGap(stream)).toBe(true);
    stream = addDelta(stream, id(1), 9, "ld", 1);
    expect(stream.chunks).toEqual([{ offset: 4, text: "o world" }]);
    expect(hasGap(stream)).toBe(true);
    stream = addDelta(undefined, id(1), 0, "Hello", 2);
    stream = addDelta(stream, id(1), 5, " world", 3);
    expect(stream.chunks).toEqual([{ offset: 0, text: "Hello world" }]);
    expect(hasGap(stream)).toBe(false);
  });

  it("starts again when a retried turn streams from the beginning, keeping nothing of the old attempt", () => {
    let stream = addDelta(undefined, id(1), 0, "old attempt text that was long", 0);
    stream = addDelta(stream, id(1), 0, "new ", 1);
    expect(stream.chunks).toEqual([{ offset: 0, text: "new " }]);
    stream = addDelta(stream, id(1), 4, "answer", 2);
    expect(stream.chunks).toEqual([{ offset: 0, text: "new answer" }]);
  });
});

describe("reconnect backoff", () => {
  it("grows from half a second to at most thirty, with jitter in the upper half", () => {
    expect(reconnectDelay(1, 0)).toBe(250);
    expect(reconnectDelay(1, 0.999)).toBeLessThanOrEqual(500);
    expect(reconnectDelay(4, 0)).toBe(2_000);
    expect(reconnectDelay(50, 0.999)).toBeLessThanOrEqual(RECONNECT.maxMs);
  });
});

describe("Markdown links", () => {
  it("keeps http(s) and mailto and drops every other target", () => {
    expect(safeUrl("https://example.com/a?b=1")).toBe("https://example.com/a?b=1");
    expect(safeUrl("mailto:someone@example.com")).toBe("mailto:someone@example.com");
    for (const bad of ["javascript:alert(1)", "JAVASCRIPT:alert(1)", " javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:x", "/dev/token?user=x", "#top", "//evil.example/x"]) {
      expect(safeUrl(bad)).toBe("");
    }
  });
});

describe("tokens", () => {
  it("reads a JWT's expiry without verifying it", () => {
    const payload = Buffer.from(JSON.stringify({ sub: "alice", exp: 1_900_000_000 })).toString("base64url");
    expect(tokenExpiresAt(`e30.${payload}.sig`)).toBe(1_900_000_000_000);
    expect(tokenExpiresAt("not a token")).toBeUndefined();
  });
});

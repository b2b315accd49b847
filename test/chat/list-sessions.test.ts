import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerFrame } from "@azuchi/core";
import { handler as sessionTitles } from "../../packages/chat/src/handlers/session-titles.ts";
import { errorFor, exchange, isAgentReply } from "../support/chat.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import type { TestClient } from "../support/ws-client.ts";

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ model: { firstTokenMs: 0, tokenMs: 0 } });
});
afterAll(() => stack?.stop());

type SessionsFrame = Extract<ServerFrame, { type: "sessions" }>;

function list(tab: TestClient, frame: { limit?: number; cursor?: string } = {}): Promise<SessionsFrame> {
  return exchange(tab, { action: "listSessions", ...frame }, (f): f is SessionsFrame => f.type === "sessions");
}

/** A new session of `user` in which `text` was sent (and, unless `answered` is false, answered). */
async function conversation(user: string, text: string, answered = true): Promise<string> {
  const tab = await stack.connect(user);
  const sessionId = await stack.sessionOf(tab);
  const ack = await exchange(tab, { action: "putMessage", message: text, clientMessageId: randomUUID() }, (f) => f.type === "ack");
  if (answered) await tab.waitFor((f) => isAgentReply(f) && f.type === "message" && f.message.jobId === (ack.type === "ack" ? ack.messageId : ""));
  await tab.close();
  return sessionId;
}

describe("listSessions", () => {
  it("lists the user's own sessions that have messages, newest first, titled after their first message", async () => {
    const first = await conversation("wendy", "How do I bake bread?\nI have flour and yeast.");
    await conversation("xavier", "Someone else's question");
    // 70 characters: the title keeps 59 (56 kana and kanji, then three emoji, none cut) and "…".
    const second = await conversation("wendy", "東京から大阪までの行き方を教えてください。新幹線とバスではどちらが安いですか？それとも飛行機の方が早いでしょうか👨‍👩‍👧‍👦🚄✈️ 時間も比べたいです。");
    const tab = await stack.connect("wendy"); // a new, empty session: not listed

    await expect.poll(async () => (await list(tab)).sessions.map((s) => s.title), { timeout: 5_000 }).toEqual([
      "東京から大阪までの行き方を教えてください。新幹線とバスではどちらが安いですか？それとも飛行機の方が早いでしょうか👨‍👩‍👧‍👦🚄✈️…",
      "How do I bake bread?",
    ]);
    const frame = await list(tab);
    expect(frame.sessions.map((s) => s.sessionId)).toEqual([second, first]);
    expect(frame.sessions[0]!.updatedAt).toBeGreaterThan(frame.sessions[1]!.updatedAt);
    expect(frame.cursor).toBeUndefined();
    await tab.close();
  });

  it("keeps the first title when the conversation goes on", async () => {
    const sessionId = await conversation("yvonne", "First question");
    const tab = await stack.connect("yvonne", sessionId);
    await expect.poll(async () => (await list(tab)).sessions[0]?.title, { timeout: 5_000 }).toBe("First question");
    const ack = await exchange(tab, { action: "putMessage", message: "Second question" }, (f) => f.type === "ack");
    await tab.waitFor((f) => isAgentReply(f) && f.type === "message" && f.message.jobId === (ack.type === "ack" ? ack.messageId : ""));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await list(tab)).sessions).toMatchObject([{ sessionId, title: "First question" }]);
    await tab.close();
  });

  it("pages with an opaque cursor until there is none", async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.unshift(await conversation("zoe", `topic ${i}`));
    const tab = await stack.connect("zoe");
    // Paging while the agent still writes (or titles) a session could see it move; let it settle.
    await expect.poll(async () => (await list(tab)).sessions.filter((s) => s.title !== "").length, { timeout: 5_000 }).toBe(3);
    const seen: string[] = [];
    let frame = await list(tab, { limit: 2 });
    seen.push(...frame.sessions.map((s) => s.sessionId));
    expect(frame.cursor).toEqual(expect.any(String));
    frame = await list(tab, { limit: 2, cursor: frame.cursor });
    seen.push(...frame.sessions.map((s) => s.sessionId));
    expect(frame.cursor).toBeUndefined();
    expect(seen).toEqual(ids);
    await tab.close();
  });

  it("refuses a cursor that was altered, or issued to another user, with BAD_REQUEST", async () => {
    for (let i = 0; i < 2; i++) await conversation("alice", `alice ${i}`);
    await conversation("bob", "bob's only");
    const alice = await stack.connect("alice");
    await expect.poll(async () => (await list(alice)).sessions.filter((s) => s.title !== "").length, { timeout: 5_000 }).toBe(2);
    const bob = await stack.connect("bob");
    const { cursor } = await list(alice, { limit: 1 });
    const [body, mac] = cursor!.split(".") as [string, string];
    const position = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as { s: string; u: number };
    const moved = Buffer.from(JSON.stringify({ ...position, u: position.u + 1 })).toString("base64url");

    for (const bad of [`${moved}.${mac}`, `${body}.${mac.slice(0, -2)}AA`, body, `${body}.${mac}.extra`, "💥"]) {
      expect((await errorFor(alice, { action: "listSessions", cursor: bad })).code).toBe("BAD_REQUEST");
    }
    // Bob cannot use Alice's cursor, nor does he ever see her sessions.
    expect((await errorFor(bob, { action: "listSessions", cursor })).code).toBe("BAD_REQUEST");
    expect((await list(bob)).sessions.map((s) => s.title)).toEqual(["bob's only"]);
    // And the cursor still works for Alice.
    expect((await list(alice, { limit: 1, cursor })).sessions).toHaveLength(1);
    await Promise.all([alice.close(), bob.close()]);
  });
});

describe("the session-titles subscriber (AgentRunCompleted, delivered at least once)", () => {
  const event = (sessionId: string) => ({
    version: "0",
    id: randomUUID(),
    "detail-type": "AgentRunCompleted",
    source: "azuchi.ai-agent",
    account: "000000000000",
    time: new Date().toISOString(),
    region: "us-east-1",
    resources: [],
    detail: { sessionId, jobId: randomUUID(), userId: "carol", durationMs: 5, usage: { inputTokens: 1, outputTokens: 1 }, toolCalls: [] },
  });

  it("titles a session once, however often and concurrently the event arrives", async () => {
    const sessionId = await conversation("carol", "Repeated delivery", false);
    await Promise.all([sessionTitles(event(sessionId)), sessionTitles(event(sessionId)), sessionTitles(event(sessionId))]);
    await sessionTitles(event(sessionId));
    const tab = await stack.connect("carol", sessionId);
    expect((await list(tab)).sessions).toMatchObject([{ sessionId, title: "Repeated delivery" }]);
    await tab.close();
  });

  it("ignores an event for a session that does not exist, and drops one that is not an AgentRunCompleted", async () => {
    await expect(sessionTitles(event(randomUUID()))).resolves.toBeUndefined();
    await expect(sessionTitles({ ...event(randomUUID()), detail: { sessionId: "nope" } })).resolves.toBeUndefined();
  });
});

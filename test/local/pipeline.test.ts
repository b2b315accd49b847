import type { Redis } from "ioredis";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message, ServerFrame } from "@azuchi/core";
import { stackRedis, startTestStack, type TestStack } from "../support/stack.ts";

let stack: TestStack;
let redis: Redis;

beforeAll(async () => {
  stack = await startTestStack();
  redis = stackRedis(stack);
});
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

const isMessage = (type: Message["messageType"], role?: Message["role"]) => (frame: ServerFrame) =>
  frame.type === "message" && frame.message.messageType === type && (!role || frame.message.role === role);

describe("the whole pipeline, through a real WebSocket client", () => {
  it("answers こんにちは！！ 🎌 with an AGENT_LOG and a streamed CONVERSATION reply quoting it, and keeps it for a reload", async () => {
    const tab = await stack.connect("alice");
    const sessionId = await stack.sessionOf(tab);
    tab.send({ action: "putMessage", message: "こんにちは！！ 🎌", clientMessageId: crypto.randomUUID() });

    const reply = await tab.waitFor(isMessage("CONVERSATION", "AGENT"));
    if (reply.type !== "message") throw new Error("unreachable");
    expect(reply.message.message).toContain("こんにちは！！ 🎌");

    // The session's own frames (getSession's answer, the sidebar's sessionUpdated: the chat begun, then titled) aside.
    const order = tab.frames.filter((f) => f.type !== "session" && f.type !== "sessionUpdated").map((f) => (f.type === "message" ? `${f.message.role}:${f.message.messageType}` : f.type));
    // Chat's post (the ack, which carries the USER message: the sender's tab gets no message
    // frame of it) and the turn's (AGENT_LOG first, the reply last, in order); API Gateway orders
    // neither service's against the other's.
    expect(order.filter((k) => k === "ack" || k.startsWith("USER:"))).toEqual(["ack"]);
    const ack = tab.frames.find((f) => f.type === "ack");
    expect(ack?.type === "ack" && ack.message).toMatchObject({ sessionId, role: "USER", messageType: "CONVERSATION", message: "こんにちは！！ 🎌" });
    const turn = order.filter((k) => k !== "ack" && !k.startsWith("USER:"));
    expect(turn[0]).toBe("AGENT:AGENT_LOG");
    expect(turn.at(-1)).toBe("AGENT:CONVERSATION");
    const deltas = tab.frames.filter((f) => f.type === "delta" && f.messageId === reply.message.messageId);
    expect(deltas.length).toBeGreaterThan(0);
    expect(reply.message.message.startsWith(deltas.map((f) => (f.type === "delta" ? f.delta : "")).join(""))).toBe(true);
    await tab.close();

    // A reload: the same session, from the messages table.
    const reloaded = await stack.connect("alice", sessionId);
    reloaded.send({ action: "getSession" });
    const session = await reloaded.waitFor((f) => f.type === "session");
    if (session.type !== "session") throw new Error("unreachable");
    expect(session.messages.map((m) => [m.role, m.messageType, m.message])).toEqual([
      ["USER", "CONVERSATION", "こんにちは！！ 🎌"],
      ["AGENT", "AGENT_LOG", "メッセージを確認しています…"],
      ["AGENT", "CONVERSATION", reply.message.message],
    ]);
    await reloaded.close();
  });

  it("stores previous_response_id with its 20-day TTL and sends it on the session's next turn", async () => {
    const tab = await stack.connect("bob");
    const sessionId = await stack.sessionOf(tab);
    const key = `azuchi:ai-agent:session:{${sessionId}}:previous_response_id`;

    tab.send({ action: "putMessage", message: "first turn" });
    await tab.waitFor(isMessage("CONVERSATION", "AGENT"));
    // The turn writes its memory just after posting the reply.
    await expect.poll(() => redis.get(key)).toMatch(/^resp_/);
    const first = await redis.get(key);
    expect(await redis.ttl(key)).toBeGreaterThan(1_728_000 - 10);

    const before = tab.frames.length;
    tab.send({ action: "putMessage", message: "second turn" });
    await tab.waitFor((f) => isMessage("CONVERSATION", "AGENT")(f) && tab.frames.indexOf(f) >= before);
    await expect.poll(() => redis.get(key)).not.toBe(first);
    const second = await redis.get(key);
    // The model's record of the second response names the first as its predecessor.
    const openai = new OpenAI({ apiKey: "offline", baseURL: stack.model!.baseURL });
    expect((await openai.responses.retrieve(second!)).previous_response_id).toBe(first);

    const history = (await redis.lrange(`azuchi:ai-agent:session:{${sessionId}}:history`, 0, -1)).map((item) => JSON.parse(item) as { role: string; message: string });
    expect(history.map((h) => h.role)).toEqual(["AGENT", "USER", "AGENT", "USER"]);
    expect(history[1]!.message).toBe("second turn");
    await tab.close();
  });

  it("publishes MessagePosted for every message, from the service that stored it, and AgentRunCompleted", async () => {
    const tab = await stack.connect("carol");
    const sessionId = await stack.sessionOf(tab);
    tab.send({ action: "putMessage", message: "events please" });
    await tab.waitFor(isMessage("CONVERSATION", "AGENT"));
    const ofSession = () =>
      stack
        .recentEvents()
        .filter((e) => (e.detail as { sessionId?: string }).sessionId === sessionId)
        .map((e) => `${e.source} ${e["detail-type"]} ${(e.detail as { role?: string }).role ?? ""}`.trim())
        .sort();
    await expect.poll(ofSession).toEqual([
      "azuchi.ai-agent AgentRunCompleted",
      "azuchi.ai-agent MessagePosted AGENT",
      "azuchi.ai-agent MessagePosted AGENT",
      "azuchi.chat MessagePosted USER",
    ]);
    await tab.close();
  });

  it("answers a page URL with broken percent-encoding with 400, and the HTTP API takes such a session id as unknown (404)", async () => {
    expect((await fetch(`${stack.url}/%E0%A4%A`)).status).toBe(400);
    const token = await stack.token("mallory");
    const api = await fetch(`${stack.url}/api/v1/chat/sessions/%E0%A4%A/reply/generate`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: "{}" });
    expect(api.status).toBe(404);
  });

  it("shows every tab of the session the user's message and the agent's reply", async () => {
    const first = await stack.connect("dave");
    const sessionId = await stack.sessionOf(first);
    const second = await stack.connect("dave", sessionId);
    first.send({ action: "putMessage", message: "two tabs" });
    // The sender's tab has the message from its ack; the other tab from chat's post of it.
    const ack = await first.waitFor((f) => f.type === "ack");
    const shown = await second.waitFor(isMessage("CONVERSATION", "USER"));
    expect(ack.type === "ack" && ack.message).toEqual(shown.type === "message" && shown.message);
    for (const tab of [first, second]) await tab.waitFor(isMessage("CONVERSATION", "AGENT"));
    expect(first.frames.some(isMessage("CONVERSATION", "USER"))).toBe(false);
    expect(second.frames.some((f) => f.type === "ack")).toBe(false);
    await Promise.all([first.close(), second.close()]);
  });
});

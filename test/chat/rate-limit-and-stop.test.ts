import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorFrame, ServerFrame } from "@azuchi/core";
import { STOP_FLAG_SECONDS } from "../../packages/core/src/stop-flag.ts";
import { exchange, isAgentReply, redisClient } from "../support/chat.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import type { TestClient } from "../support/ws-client.ts";

let stack: TestStack;
let redis: Redis;

beforeAll(async () => {
  stack = await startTestStack({ model: { firstTokenMs: 0, tokenMs: 0 } });
  redis = redisClient(stack);
});
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

/** Sends `count` putMessage frames at once; resolves with each one's answer (ack or error), in order. */
async function burst(tab: TestClient, count: number): Promise<ServerFrame[]> {
  const start = tab.frames.length;
  for (let i = 0; i < count; i++) tab.send({ action: "putMessage", message: `message ${i}`, clientMessageId: randomUUID() });
  const answers = () => tab.frames.slice(start).filter((f) => f.type === "ack" || f.type === "error");
  await tab.waitFor(() => answers().length >= count);
  return answers();
}

describe("message rate limit, per user", () => {
  it("takes a burst of 10, refuses the rest with RATE_LIMITED and when to retry, then allows about one a second", async () => {
    const tab = await stack.connect("sybil");
    const started = Date.now();
    const answers = await burst(tab, 14);
    const elapsedMs = Date.now() - started;
    const acked = answers.filter((f) => f.type === "ack").length;
    const limited = answers.filter((f): f is ErrorFrame => f.type === "error");
    // Ten at once, plus one a second while the burst was being answered.
    expect(acked).toBeGreaterThanOrEqual(10);
    expect(acked).toBeLessThanOrEqual(10 + Math.floor(elapsedMs / 1_000));
    expect(limited.length).toBe(14 - acked);
    for (const error of limited) {
      expect(error.code).toBe("RATE_LIMITED");
      expect(error.retryAfterMs).toBeGreaterThan(0);
      expect(error.retryAfterMs).toBeLessThanOrEqual(1_000);
    }
    // Nothing refused was stored.
    const session = await exchange(tab, { action: "getSession", limit: 100 }, (f) => f.type === "session");
    expect(session.type === "session" && session.messages.filter((m) => m.role === "USER")).toHaveLength(acked);

    // After the hinted wait, the next one goes through.
    await new Promise((resolve) => setTimeout(resolve, ((limited.at(-1)?.retryAfterMs as number | undefined) ?? 1_000) + 50));
    expect(await exchange(tab, { action: "putMessage", message: "later" }, (f) => f.type === "ack" || f.type === "error")).toMatchObject({ type: "ack" });
    await tab.close();
  });

  it("is one allowance across all of a user's sockets and the HTTP API (429 with Retry-After); other users are not slowed", async () => {
    const first = await stack.connect("trudy");
    const sessionId = await stack.sessionOf(first);
    const second = await stack.connect("trudy", sessionId);
    const elsewhere = await stack.connect("trudy");
    const started = Date.now();
    expect((await burst(first, 10)).every((f) => f.type === "ack")).toBe(true);
    const allowance = () => Math.floor((Date.now() - started) / 1_000);
    // Five sockets do not get five allowances: the other tab and another session of the user are refused too.
    const fromSecond = await burst(second, 3);
    const fromElsewhere = await burst(elsewhere, 3);
    const http = await fetch(`${stack.url}/api/v1/chat/sessions/${sessionId}/reply/generate`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await stack.token("trudy")}` },
      body: JSON.stringify({ message: "over the limit by HTTP" }),
    });
    const extra = [...fromSecond, ...fromElsewhere].filter((f) => f.type === "ack").length + (http.status === 202 ? 1 : 0);
    expect(extra).toBeLessThanOrEqual(allowance());
    expect([...fromSecond, ...fromElsewhere].filter((f) => f.type === "error").every((f) => f.type === "error" && f.code === "RATE_LIMITED")).toBe(true);
    if (http.status !== 202) {
      expect(http.status).toBe(429);
      expect(Number(http.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await http.json()).toMatchObject({ retryAfterMs: expect.any(Number) });
    }
    const other = await stack.connect("wendy");
    expect((await burst(other, 3)).every((f) => f.type === "ack")).toBe(true);
    await Promise.all([first.close(), second.close(), elsewhere.close(), other.close()]);
  });

  it("keeps its buckets under chat's own Redis prefix, one per user, and lets them expire", async () => {
    // trudy used three sockets and the HTTP API: one message bucket (and one for the sessions she created).
    expect((await redis.keys("azuchi:chat:ratelimit:*trudy*")).sort()).toEqual(["azuchi:chat:ratelimit:user:trudy:messages", "azuchi:chat:ratelimit:user:trudy:new_sessions"]);
    expect(await redis.keys("azuchi:chat:ratelimit:connection:*")).toEqual([]);
    const keys = await redis.keys("azuchi:chat:ratelimit:user:*:messages");
    for (const key of keys) expect(await redis.pttl(key)).toBeGreaterThan(0);
  });
});

describe("stopGeneration", () => {
  it("raises the session's stop flag for STOP_FLAG_SECONDS, with the time of the request, and sends nothing itself", async () => {
    const tab = await stack.connect("ursula");
    const sessionId = await stack.sessionOf(tab);
    const before = Date.now();
    const start = tab.frames.length;
    tab.send({ action: "stopGeneration" });
    const key = `azuchi:ai-agent:session:{${sessionId}}:stop`;
    await expect.poll(() => redis.get(key)).not.toBeNull();
    const requestedAt = Number(await redis.get(key));
    expect(requestedAt).toBeGreaterThanOrEqual(before);
    expect(requestedAt).toBeLessThanOrEqual(Date.now());
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(STOP_FLAG_SECONDS - 5);
    expect(ttl).toBeLessThanOrEqual(STOP_FLAG_SECONDS);
    expect(await redis.keys(`azuchi:ai-agent:session:*:stop`)).toEqual([key]);
    // A later getSession is answered first: the stop produced no frame of its own.
    await exchange(tab, { action: "getSession" }, (f) => f.type === "session");
    expect(tab.frames.slice(start).map((f) => f.type)).toEqual(["session"]);
    await redis.del(key);
    await tab.close();
  });

  it("stops the running turn: what was written so far is stored with stopped: true and sent to every tab", async () => {
    stack.model!.configure({ firstTokenMs: 0, tokenMs: 40 });
    try {
      const tab = await stack.connect("victor");
      const sessionId = await stack.sessionOf(tab);
      const other = await stack.connect("victor", sessionId);
      const ack = await exchange(tab, { action: "putMessage", message: "word ".repeat(200) }, (f) => f.type === "ack");
      await tab.waitFor((f) => f.type === "delta");
      tab.send({ action: "stopGeneration" });
      for (const each of [tab, other]) {
        const reply = await each.waitFor((f) => isAgentReply(f) && f.type === "message" && f.message.jobId === (ack.type === "ack" ? ack.messageId : ""), 5_000);
        expect(reply.type === "message" && reply.message.stopped).toBe(true);
      }
      await Promise.all([tab.close(), other.close()]);
    } finally {
      stack.model!.configure({ firstTokenMs: 0, tokenMs: 0 });
    }
  });
});

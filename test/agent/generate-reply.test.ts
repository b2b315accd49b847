import { GetQueueAttributesCommand, SetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { messageFrame } from "../support/frames.ts";
import { stackSqs, startTestStack, type TestStack } from "../support/stack.ts";

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.stop());

function generate(sessionId: string, body: unknown, token?: string) {
  return fetch(`${stack.url}/api/v1/chat/sessions/${sessionId}/reply/generate`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("POST /api/v1/chat/sessions/{sessionId}/reply/generate", () => {
  it("stores the message, answers 202 with the jobId, and the reply arrives on the session's WebSocket", async () => {
    const tab = await stack.connect("henry");
    const sessionId = await stack.sessionOf(tab);
    const response = await generate(sessionId, { message: "HTTP から こんにちは 🎌" }, await stack.token("henry"));
    expect(response.status).toBe(202);
    const { jobId } = (await response.json()) as { jobId: string };
    const user = await tab.waitFor(messageFrame("CONVERSATION", "USER"));
    expect(user.message).toMatchObject({ messageId: jobId, message: "HTTP から こんにちは 🎌" });
    const reply = await tab.waitFor(messageFrame("CONVERSATION", "AGENT"));
    expect(reply.message.jobId).toBe(jobId);
    expect(reply.message.message).toContain("HTTP から こんにちは 🎌");
    await tab.close();
  });

  it("tells the user's other tabs of a new chat at its first message, as putMessage does", async () => {
    const tab = await stack.connect("hana");
    const sessionId = await stack.sessionOf(tab);
    const other = await stack.connect("hana");
    await stack.sessionOf(other);
    const response = await generate(sessionId, { message: "a chat begun over HTTP" }, await stack.token("hana"));
    expect(response.status).toBe(202);
    const user = await tab.waitFor(messageFrame("CONVERSATION", "USER"));
    const begun = await other.waitFor((f) => f.type === "sessionUpdated" && f.session.sessionId === sessionId);
    expect(begun).toEqual({ type: "sessionUpdated", session: { sessionId, title: "", updatedAt: user.message.createdAt } });
    await Promise.all([tab.close(), other.close()]);
  });

  it("tells the time in the caller's time zone and locale when the body gives them", async () => {
    const tab = await stack.connect("ines");
    const sessionId = await stack.sessionOf(tab);
    const response = await generate(sessionId, { message: "What time is it?", timeZone: "Europe/Lisbon", locale: "pt-PT" }, await stack.token("ines"));
    expect(response.status).toBe(202);
    const outcome = await tab.waitFor((f) => f.type === "message" && f.message.messageType === "AGENT_LOG" && f.message.message.startsWith("get_current_time:"));
    if (outcome.type !== "message") throw new Error("unreachable");
    expect(outcome.message.message).toMatch(/\(Europe\/Lisbon\)$/);
    expect(outcome.message.message).toContain(new Intl.DateTimeFormat("pt-PT", { timeZone: "Europe/Lisbon", year: "numeric" }).format(new Date()));
    const bad = await generate(sessionId, { message: "x", timeZone: "z".repeat(65) }, await stack.token("ines"));
    expect(bad.status).toBe(400);
    await tab.close();
  });

  it("refuses what it must, with API Gateway's and the API's statuses", async () => {
    const owner = await stack.connect("iris");
    const sessionId = await stack.sessionOf(owner);
    const token = await stack.token("iris");
    const other = await stack.token("jack");
    const forged = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("iris").setExpirationTime("1h").sign(new TextEncoder().encode("not the secret"));

    expect((await generate(sessionId, { message: "hi" })).status).toBe(401);
    expect((await generate(sessionId, { message: "hi" }, forged)).status).toBe(403);
    expect((await generate(sessionId, { message: "hi" }, other)).status).toBe(403);
    expect((await generate("00000000-0000-4000-8000-000000000000", { message: "hi" }, token)).status).toBe(404);
    expect((await generate("not-a-uuid", { message: "hi" }, token)).status).toBe(404);
    expect((await generate(sessionId, "{not json", token)).status).toBe(400);
    expect((await generate(sessionId, { message: 42 }, token)).status).toBe(400);
    expect((await generate(sessionId, { text: "wrong field" }, token)).status).toBe(400);
    expect((await generate(sessionId, { message: "  " }, token)).status).toBe(400);
    // The same texts as the WebSocket refuses: invisible characters only, a lone surrogate.
    expect((await generate(sessionId, { message: "\u200b\u200d\ufeff" }, token)).status).toBe(400);
    expect((await generate(sessionId, { message: "\ud800 broken" }, token)).status).toBe(400);
    const tooLong = await generate(sessionId, { message: "🎌".repeat(8_001) }, token);
    expect(tooLong.status).toBe(413);
    expect(await tooLong.json()).toMatchObject({ limit: 8_000, length: 8_001 });
    // Nothing of the refused requests was stored.
    owner.send({ action: "getSession" });
    const session = await owner.waitFor((f) => f.type === "session" && owner.frames.filter((x) => x.type === "session").length === 2);
    expect(session.type === "session" && session.messages).toEqual([]);
    await owner.close();
  });

  it("answers 503 with the jobId when the message is stored but not queued, shows it to no tab (but tells them the chat began), and the retry queues it (202, same jobId)", async () => {
    const tab = await stack.connect("lena");
    const sessionId = await stack.sessionOf(tab);
    const token = await stack.token("lena");
    const clientMessageId = crypto.randomUUID();
    const text = `A long question. ${"まだ続きます。".repeat(200)}`;
    const sqs = stackSqs(stack);
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.queues.jobs, AttributeNames: ["MaximumMessageSize"] }));
    // SQS refuses the job (a real refusal: InvalidParameterValue) after the message was stored.
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: stack.queues.jobs, Attributes: { MaximumMessageSize: "1024" } }));
    const start = tab.frames.length;
    let failed: Response;
    try {
      failed = await generate(sessionId, { message: text, clientMessageId }, token);
    } finally {
      await sqs.send(new SetQueueAttributesCommand({ QueueUrl: stack.queues.jobs, Attributes: { MaximumMessageSize: Attributes!.MaximumMessageSize! } }));
    }
    expect(failed.status).toBe(503);
    const { jobId } = (await failed.json()) as { jobId: string };
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    tab.send({ action: "getSession" });
    const session = await tab.waitFor((f) => f.type === "session" && tab.frames.indexOf(f) >= start);
    expect(session.type === "session" && session.messages.map((m) => [m.messageId, m.enqueuedAt])).toEqual([[jobId, undefined]]);
    // No tab is shown a message that has no job; stored and counted, the chat is listed, so the
    // user's tabs are told it began, untitled.
    const [stored] = session.type === "session" ? session.messages : [];
    expect(tab.frames.slice(start)).toEqual([{ type: "sessionUpdated", session: { sessionId, title: "", updatedAt: stored!.createdAt } }, session]);

    const retried = await generate(sessionId, { message: text, clientMessageId }, token);
    expect(retried.status).toBe(202);
    expect(await retried.json()).toEqual({ jobId });
    const reply = await tab.waitFor(messageFrame("CONVERSATION", "AGENT"));
    expect(reply.message.jobId).toBe(jobId);
    sqs.destroy();
    await tab.close();
  });

  it("answers 429 with Retry-After once the user's allowance is spent, and stores nothing it refused", async () => {
    const tab = await stack.connect("mona");
    const sessionId = await stack.sessionOf(tab);
    const token = await stack.token("mona");
    const statuses: number[] = [];
    let limited: Response | undefined;
    // A burst of 10, then about one a second: some request within the next ones is refused.
    for (let i = 0; i < 20 && !limited; i++) {
      const response = await generate(sessionId, { message: `m${i}` }, token);
      statuses.push(response.status);
      if (response.status === 429) limited = response;
      else await response.body?.cancel();
    }
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThanOrEqual(10);
    expect(limited?.status).toBe(429);
    const seconds = Number(limited!.headers.get("retry-after"));
    expect(seconds).toBeGreaterThanOrEqual(1);
    const body = (await limited!.json()) as { retryAfterMs: number };
    expect(body.retryAfterMs).toBeGreaterThan(0);
    expect(seconds).toBe(Math.max(1, Math.ceil(body.retryAfterMs / 1000)));
    const start = tab.frames.length;
    tab.send({ action: "getSession", limit: 100 });
    const session = await tab.waitFor((f) => f.type === "session" && tab.frames.indexOf(f) >= start);
    expect(session.type === "session" && session.messages.filter((m) => m.role === "USER")).toHaveLength(statuses.filter((s) => s === 202).length);
    await tab.close();
  });

  it("is one message and one job when a request is retried with the same clientMessageId", async () => {
    const tab = await stack.connect("kate");
    const sessionId = await stack.sessionOf(tab);
    const token = await stack.token("kate");
    const clientMessageId = crypto.randomUUID();
    const [first, second] = await Promise.all([
      generate(sessionId, { message: "retry me", clientMessageId }, token),
      generate(sessionId, { message: "retry me", clientMessageId }, token),
    ]);
    const ids = [((await first.json()) as { jobId: string }).jobId, ((await second.json()) as { jobId: string }).jobId];
    expect(ids[0]).toBe(ids[1]);
    await tab.waitFor(messageFrame("CONVERSATION", "AGENT"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(tab.frames.filter((f) => messageFrame("CONVERSATION", "AGENT")(f))).toHaveLength(1);
    await tab.close();
  });
});

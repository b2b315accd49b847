import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { messageFrame } from "../support/frames.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";

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

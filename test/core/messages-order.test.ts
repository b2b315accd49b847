import { describe, expect, it } from "vitest";
import { MessagesRepository, type Message } from "@azuchi/core";
import { userMessage, useTestDynamo } from "../support/dynamo.ts";

// "In order" (docs/architecture.md §2): a session's messages are ordered by createdAt, unique in
// the session, so every reader sees the same total order. Writes one repository instance
// (one Lambda, one process) issues are placed in the order they were issued, even in one
// millisecond; writes that follow one another (each awaited) keep their order even against
// other instances' writes; `after` orders a message after its cause across instances.

const ctx = useTestDynamo();

const instance = () => new MessagesRepository(ctx.db.doc, ctx.db.tables);


function expectTotalOrder(stored: Message[]): void {
  const times = stored.map((m) => m.createdAt);
  expect(new Set(times).size).toBe(times.length);
  expect(times).toEqual([...times].sort((a, b) => a - b));
}

describe("message order", () => {
  it("keeps all messages of two instances racing for one millisecond, in one total order", async () => {
    const [a, b] = [instance(), instance()];
    const { sessionId } = await ctx.sessions.create("alice");
    const at = Date.now();
    const writes = Array.from({ length: 100 }, (_, i) => [
      a.put(userMessage(sessionId, `a${i}`, at)),
      b.put(userMessage(sessionId, `b${i}`, at)),
    ]).flat();
    const written = await Promise.all(writes);

    const stored = await a.list(sessionId, { limit: 500 });
    expect(stored).toHaveLength(200);
    expect(new Set(stored.map((m) => m.messageId))).toEqual(new Set(written.map((w) => w.message.messageId)));
    expectTotalOrder(stored);
    expect((await ctx.sessions.get(sessionId))?.messageCount).toBe(200);
  });

  it("keeps the order of writes that follow one another, though the clock stands still and another instance writes in between", async () => {
    const [mine, theirs] = [instance(), instance()];
    const { sessionId } = await ctx.sessions.create("alice");
    const at = Date.now();
    const sequence = async (repo: MessagesRepository, prefix: string) => {
      for (let i = 0; i < 20; i++) await repo.put(userMessage(sessionId, `${prefix}${i}`, at));
    };
    await Promise.all([sequence(mine, "a"), sequence(theirs, "b")]);

    const stored = await mine.list(sessionId, { limit: 100 });
    expect(stored).toHaveLength(40);
    expectTotalOrder(stored);
    const order = (prefix: string) => stored.filter((m) => m.message.startsWith(prefix)).map((m) => m.message);
    expect(order("a")).toEqual(Array.from({ length: 20 }, (_, i) => `a${i}`));
    expect(order("b")).toEqual(Array.from({ length: 20 }, (_, i) => `b${i}`));
  });

  it("places a message after its cause (`after`), even when its writer's clock is behind", async () => {
    const [chat, agent] = [instance(), instance()];
    const { sessionId } = await ctx.sessions.create("alice");
    const at = Date.now();
    const { message: question } = await chat.put(userMessage(sessionId, "question", at + 50));
    const { message: answer } = await agent.put(
      { ...userMessage(sessionId, "answer", at), role: "AGENT" },
      { after: question.createdAt },
    );
    expect(answer.createdAt).toBe(question.createdAt + 1);
    expect((await agent.list(sessionId)).map((m) => m.message)).toEqual(["question", "answer"]);
  });

  it("moves the session's updatedAt to its newest message and never back; counts each message once", async () => {
    const [a, b] = [instance(), instance()];
    const { sessionId, updatedAt: created } = await ctx.sessions.create("alice");
    const newer = await a.put(userMessage(sessionId, "newer", created + 100));
    await b.put(userMessage(sessionId, "older, written later", created + 10));
    await b.put(newer.message);
    expect(await ctx.sessions.get(sessionId)).toMatchObject({ updatedAt: created + 100, messageCount: 2 });
  });
});

import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { MessagesRepository, type Message } from "@azuchi/core";
import { userMessage, useTestDynamo } from "../support/dynamo.ts";

const ctx = useTestDynamo();
let repo: MessagesRepository;
beforeAll(() => {
  repo = new MessagesRepository(ctx.db.doc, ctx.db.tables);
});

/** A guard as a writer leaves it when it crashes: pending, its lease already over. */
async function crashedGuard(message: Message, createdAt: number): Promise<void> {
  await ctx.db.doc.send(
    new PutCommand({
      TableName: ctx.db.tables.messageIds,
      Item: { messageId: message.messageId, sessionId: message.sessionId, createdAt, state: "pending", owner: "crashed", leaseUntil: Date.now() - 1, expiresAt: 0 },
    }),
  );
}


describe("the messages repository", () => {
  it("keeps two messages written in the same millisecond, the second moved 1 ms on", async () => {
    const { sessionId } = await ctx.sessions.create("alice");
    const at = 1_700_000_000_000;
    const first = await repo.put(userMessage(sessionId, "first", at));
    const second = await repo.put(userMessage(sessionId, "second", at));
    expect(first).toMatchObject({ created: true, message: { createdAt: at } });
    expect(second).toMatchObject({ created: true, message: { createdAt: at + 1 } });
    expect((await repo.list(sessionId)).map((m) => m.message)).toEqual(["first", "second"]);
  });

  it("writes nothing new when the same messageId is written again, in any millisecond", async () => {
    const { sessionId } = await ctx.sessions.create("alice");
    const message = userMessage(sessionId, "こんにちは！！ 🎌", 1_700_000_000_100);
    await repo.put(message);
    const replay = await repo.put({ ...message, createdAt: 1_700_000_009_999 });
    expect(replay).toEqual({ created: false, message });
    expect(await repo.list(sessionId)).toEqual([message]);
    expect((await ctx.sessions.get(sessionId))?.messageCount).toBe(1);
  });

  it("completes a write whose writer crashed after claiming the guard, once its lease is over", async () => {
    const { sessionId } = await ctx.sessions.create("alice");
    const message = userMessage(sessionId, "half written", 1_700_000_000_200);
    await crashedGuard(message, message.createdAt);
    await expect(repo.put({ ...message, createdAt: 1_700_000_000_555 })).resolves.toEqual({ created: true, message });
    await expect(repo.put(message)).resolves.toEqual({ created: false, message });
  });

  it("finds the message a crashed writer stored after a clash, instead of writing it twice", async () => {
    const { sessionId } = await ctx.sessions.create("alice");
    const at = 1_700_000_000_300;
    const other = userMessage(sessionId, "other", at);
    const mine = userMessage(sessionId, "mine", at);
    await repo.put(other);
    // The writer moved past the clash, stored the message, and crashed before marking its guard.
    await crashedGuard(mine, at);
    await ctx.db.doc.send(new PutCommand({ TableName: ctx.db.tables.messages, Item: { ...mine, createdAt: at + 1 } }));
    const replay = await repo.put(mine);
    expect(replay).toEqual({ created: false, message: { ...mine, createdAt: at + 1 } });
    expect((await repo.list(sessionId)).map((m) => m.message)).toEqual(["other", "mine"]);
  });

  it("writes a message once when two writers of the same messageId race", async () => {
    const { sessionId } = await ctx.sessions.create("alice");
    const message = userMessage(sessionId, "double click", 1_700_000_000_400);
    const results = await Promise.all([repo.put(message), repo.put(message), repo.put(message)]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await repo.list(sessionId)).toEqual([message]);
  });

  it("finds at once a write of the old two steps that finished, its guard still pending, while its lease still runs and after", async () => {
    const { sessionId } = await ctx.sessions.create("alice");
    const message = userMessage(sessionId, "written", 1_700_000_000_500);
    // As a write before guard and message went in one transaction left it: the message at the
    // guard's first millisecond, the guard pending with a lease running.
    await ctx.db.doc.send(new PutCommand({ TableName: ctx.db.tables.messages, Item: message }));
    await ctx.db.doc.send(
      new PutCommand({
        TableName: ctx.db.tables.messageIds,
        Item: { messageId: message.messageId, sessionId, createdAt: message.createdAt, state: "pending", owner: "old", leaseUntil: Date.now() + 10_000, expiresAt: 0 },
      }),
    );
    const replay = async () => {
      const started = Date.now();
      await expect(new MessagesRepository(ctx.db.doc, ctx.db.tables).put(message)).resolves.toEqual({ created: false, message });
      return Date.now() - started;
    };
    expect(await replay()).toBeLessThan(1_000);
    // Ten minutes later, the lease long over.
    await ctx.db.doc.send(new UpdateCommand({ TableName: ctx.db.tables.messageIds, Key: { messageId: message.messageId }, UpdateExpression: "SET leaseUntil = :past", ExpressionAttributeValues: { ":past": Date.now() - 600_000 } }));
    expect(await replay()).toBeLessThan(1_000);
    expect(await repo.list(sessionId)).toEqual([message]);
  });

  it("counts the session's summary in the message's own request when asked, with the messages stored before it", async () => {
    const { sessionId } = await ctx.sessions.create("alice");
    const base = Date.now() + 60_000;
    const log = await repo.put(userMessage(sessionId, "log", base + 800), { touch: false });
    const replyInput = userMessage(sessionId, "reply", base + 900);
    const { message: reply } = await repo.put(replyInput, { touch: "with-message", alsoCount: { count: 1, latest: log.message.createdAt } });
    expect(await ctx.sessions.get(sessionId)).toMatchObject({ messageCount: 2, updatedAt: reply.createdAt });
    // A replay counts nothing.
    await expect(repo.put(replyInput, { touch: "with-message", alsoCount: { count: 1, latest: 0 } })).resolves.toMatchObject({ created: false });
    expect((await ctx.sessions.get(sessionId))?.messageCount).toBe(2);
    // updatedAt only moves forward: a later message counted first leaves it; the count still grows.
    // (Another instance's: this one's clock would place it after its own reply.)
    await new MessagesRepository(ctx.db.doc, ctx.db.tables).put(userMessage(sessionId, "late", base + 850), { touch: "with-message" });
    expect(await ctx.sessions.get(sessionId)).toMatchObject({ messageCount: 3, updatedAt: reply.createdAt });
    // A deleted session's message is still stored, without a summary.
    await ctx.db.doc.send(new DeleteCommand({ TableName: ctx.db.tables.sessions, Key: { sessionId } }));
    await expect(repo.put(userMessage(sessionId, "orphan", base + 1000), { touch: "with-message" })).resolves.toMatchObject({ created: true });
    expect(await ctx.sessions.get(sessionId)).toBeUndefined();
  });

  it("marks a USER message queued and counts it in one request, and tells a session's first message", async () => {
    const { sessionId } = await ctx.sessions.create("alice");
    const base = Date.now() + 60_000;
    const first = await repo.put(userMessage(sessionId, "first", base + 1100), { touch: false });
    await expect(repo.markEnqueued(sessionId, first.message.createdAt, Date.now(), { touch: true })).resolves.toEqual({ firstMessage: true });
    const second = await repo.put(userMessage(sessionId, "second", base + 1200), { touch: false });
    await expect(repo.markEnqueued(sessionId, second.message.createdAt, Date.now(), { touch: true })).resolves.toEqual({ firstMessage: false });
    expect(await ctx.sessions.get(sessionId)).toMatchObject({ messageCount: 2, updatedAt: second.message.createdAt });
    expect((await repo.get(sessionId, second.message.createdAt))?.enqueuedAt).toBeGreaterThan(0);
    // Two first messages at once (two tabs): exactly one is the first.
    const other = await ctx.sessions.create("alice");
    const both = await Promise.all(
      ["a", "b"].map(async (text, i) => {
        const { message } = await repo.put(userMessage(other.sessionId, text, base + 1300 + i), { touch: false });
        return repo.markEnqueued(other.sessionId, message.createdAt, Date.now(), { touch: true });
      }),
    );
    expect(both.filter((b) => b.firstMessage)).toHaveLength(1);
    expect((await ctx.sessions.get(other.sessionId))?.messageCount).toBe(2);
  });

  it("records where a write moved by another instance's message went, so a replay finds it there", async () => {
    const { sessionId } = await ctx.sessions.create("alice");
    const at = 1_700_000_000_600;
    await new MessagesRepository(ctx.db.doc, ctx.db.tables).put(userMessage(sessionId, "theirs", at));
    const mine = userMessage(sessionId, "mine", at);
    const { message: stored } = await repo.put(mine);
    expect(stored.createdAt).toBeGreaterThan(at);
    const { Item: guard } = await ctx.db.doc.send(new GetCommand({ TableName: ctx.db.tables.messageIds, Key: { messageId: mine.messageId } }));
    // Written with the message, where it went: a guard always has its message.
    expect(guard).toEqual({ messageId: mine.messageId, sessionId, createdAt: stored.createdAt, expiresAt: expect.any(Number) });
    await expect(new MessagesRepository(ctx.db.doc, ctx.db.tables).put(mine)).resolves.toEqual({ created: false, message: stored });
    expect(await repo.findById(mine.messageId)).toEqual(stored);
  });

  it("refuses a messageId already used in another session", async () => {
    const first = await ctx.sessions.create("alice");
    const second = await ctx.sessions.create("alice");
    const message = userMessage(first.sessionId, "here", 1_700_000_000_700);
    await repo.put(message);
    await expect(repo.put({ ...message, sessionId: second.sessionId })).rejects.toThrow(/another session/);
    expect(await repo.list(second.sessionId)).toEqual([]);
  });

  it("pages: newest 50 by default, older ones before a time, newer ones after it, always oldest first", async () => {
    const { sessionId } = await ctx.sessions.create("alice");
    for (let i = 0; i < 60; i++) await repo.put(userMessage(sessionId, `m${i}`, 1_700_000_002_000 + i * 10));
    const newest = await repo.list(sessionId);
    expect(newest.map((m) => m.message)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i + 10}`));
    const older = await repo.list(sessionId, { before: newest[0]!.createdAt });
    expect(older.map((m) => m.message)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    const after = await repo.list(sessionId, { after: 1_700_000_002_000 + 570, limit: 10 });
    expect(after.map((m) => m.message)).toEqual(["m58", "m59"]);
  });

  it("answers an empty page, not an error, when nothing can lie between after and before", async () => {
    const { sessionId } = await ctx.sessions.create("alice");
    await repo.put(userMessage(sessionId, "m", 1_700_000_003_000));
    expect(await repo.list(sessionId, { after: 1_700_000_003_000, before: 1_700_000_003_001 })).toEqual([]);
    expect(await repo.list(sessionId, { after: 1_700_000_003_005, before: 1_700_000_002_000 })).toEqual([]);
    expect(await repo.list(sessionId, { after: 1_700_000_002_999, before: 1_700_000_003_001 })).toHaveLength(1);
  });

  it("refuses a message that does not fit the schema, writing nothing", async () => {
    const { sessionId } = await ctx.sessions.create("alice");
    await expect(repo.put({ ...userMessage(sessionId, "x", 1), role: "ROBOT" } as unknown as Message)).rejects.toThrow();
    expect(await repo.list(sessionId)).toEqual([]);
  });
});

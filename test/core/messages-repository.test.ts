import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { MessagesRepository, type Message } from "../../packages/core/src/index.ts";
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

  it("finds a finished write at once on replay, while its lease still runs and after, with no second write to its guard", async () => {
    const { sessionId } = await ctx.sessions.create("alice");
    const message = userMessage(sessionId, "written", 1_700_000_000_500);
    await repo.put(message);
    const replay = async () => {
      const started = Date.now();
      await expect(new MessagesRepository(ctx.db.doc, ctx.db.tables).put(message)).resolves.toEqual({ created: false, message });
      return Date.now() - started;
    };
    // A client's retry a moment later: the guard is still as the write claimed it (pending, leased).
    expect(await replay()).toBeLessThan(1_000);
    // Ten minutes later, the lease long over.
    await ctx.db.doc.send(new UpdateCommand({ TableName: ctx.db.tables.messageIds, Key: { messageId: message.messageId }, UpdateExpression: "SET leaseUntil = :past", ExpressionAttributeValues: { ":past": Date.now() - 600_000 } }));
    expect(await replay()).toBeLessThan(1_000);
    expect(await repo.list(sessionId)).toEqual([message]);
  });

  it("records where a write moved by another instance's message went, so a replay finds it there", async () => {
    const { sessionId } = await ctx.sessions.create("alice");
    const at = 1_700_000_000_600;
    await new MessagesRepository(ctx.db.doc, ctx.db.tables).put(userMessage(sessionId, "theirs", at));
    const mine = userMessage(sessionId, "mine", at);
    const { message: stored } = await repo.put(mine);
    expect(stored.createdAt).toBeGreaterThan(at);
    const { Item: guard } = await ctx.db.doc.send(new GetCommand({ TableName: ctx.db.tables.messageIds, Key: { messageId: mine.messageId } }));
    expect(guard).toMatchObject({ state: "stored", createdAt: stored.createdAt });
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

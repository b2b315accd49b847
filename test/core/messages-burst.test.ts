import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MessagesRepository, type Message } from "@azuchi/core";
import { userMessage, useTestDynamo } from "../support/dynamo.ts";

// Nothing lost, nothing out of order, and cheap: 1,000 messages written into one session at
// once (docs/architecture.md §2). What "in order" means is in messages-order.test.ts.

const ctx = useTestDynamo();

const instance = () => new MessagesRepository(ctx.db.doc, ctx.db.tables);


/** Counts the DynamoDB requests sent through the test's client until stop(). */
function countRequests() {
  const counts: Record<string, number> = {};
  let counting = true;
  const name = `count-${randomUUID()}`;
  ctx.db.doc.middlewareStack.add(
    (next, context) => (args) => {
      if (counting) counts[context.commandName as string] = (counts[context.commandName as string] ?? 0) + 1;
      return next(args);
    },
    { step: "initialize", name },
  );
  return {
    stop: () => {
      counting = false;
      ctx.db.doc.middlewareStack.remove(name);
      return counts;
    },
  };
}

function expectTotalOrder(stored: Message[]): void {
  const times = stored.map((m) => m.createdAt);
  expect(new Set(times).size).toBe(times.length);
  expect(times).toEqual([...times].sort((a, b) => a - b));
}

describe("a burst of messages into one session", () => {
  it("keeps all of 1,000 messages written at once into one millisecond, in the order they were issued", async () => {
    const repo = instance();
    const { sessionId } = await ctx.sessions.create("alice");
    const at = Date.now();
    const texts = Array.from({ length: 1_000 }, (_, i) => `m${i}`);
    const requests = countRequests();
    const written = await Promise.all(texts.map((text) => repo.put(userMessage(sessionId, text, at))));
    expect(written.every((w) => w.created)).toBe(true);
    // One request a message (its guard and itself in one transaction: no clash); the session's summary updated in batches.
    const sent = requests.stop();
    expect(sent.TransactWriteItemsCommand).toBe(1_000);
    expect(sent.PutItemCommand).toBeUndefined();
    expect(sent.UpdateItemCommand).toBeLessThan(100);

    const stored = await repo.list(sessionId, { limit: 1_000 });
    expect(stored.map((m) => m.message)).toEqual(texts);
    expectTotalOrder(stored);
    expect(stored[0]!.createdAt).toBe(at);
    expect(await ctx.sessions.get(sessionId)).toMatchObject({ messageCount: 1_000, updatedAt: stored[999]!.createdAt });
  });
});

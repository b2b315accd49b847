import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessagesRepository, SessionsRepository, type SessionPosition } from "@azuchi/core";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";

let db: TestDynamo;
let sessions: SessionsRepository;
let messages: MessagesRepository;

beforeAll(async () => {
  db = await startTestDynamo();
  sessions = new SessionsRepository(db.doc, db.tables.sessions);
  messages = new MessagesRepository(db.doc, db.tables);
});
afterAll(() => db.stop());

/** A session of `userId` with `count` messages, the last at `at`. */
async function sessionWith(userId: string, count: number, at: number): Promise<string> {
  const { sessionId } = await sessions.create(userId, at - 1_000);
  for (let i = count; i > 0; i--) {
    await messages.put({ sessionId, messageId: randomUUID(), createdAt: at - i + 1, role: "USER", messageType: "CONVERSATION", message: `m${i}` });
  }
  return sessionId;
}

async function allPages(userId: string, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let after: SessionPosition | undefined;
  do {
    const page = await sessions.listByUser(userId, { limit, after });
    pages.push(page.sessions.map((s) => s.sessionId));
    after = page.next;
  } while (after && pages.length < 50);
  return pages;
}

describe("listing a user's sessions", () => {
  it("lists only the user's sessions that have messages, most recently updated first", async () => {
    const base = 1_700_100_000_000;
    const older = await sessionWith("dave", 2, base + 10);
    await sessions.create("dave", base + 20); // empty: not listed
    const newer = await sessionWith("dave", 1, base + 30);
    await sessionWith("eve", 3, base + 40); // someone else's
    const page = await sessions.listByUser("dave", { limit: 10 });
    expect(page.sessions.map((s) => s.sessionId)).toEqual([newer, older]);
    expect(page.sessions[0]).toMatchObject({ userId: "dave", messageCount: 1, updatedAt: base + 30 });
    expect(page.next).toBeUndefined();
  });

  it("pages through every session once, and the last page says there is no more", async () => {
    const base = 1_700_200_000_000;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.unshift(await sessionWith("frank", 1, base + i * 100));
      if (i % 2 === 0) await sessions.create("frank", base + i * 100 + 50);
    }
    expect(await allPages("frank", 3)).toEqual([ids.slice(0, 3), ids.slice(3, 6), ids.slice(6)]);
    expect(await allPages("frank", 7)).toEqual([ids]);
  });

  it("answers soon even behind many empty sessions, and goes on from where it stopped", async () => {
    const base = 1_700_300_000_000;
    const old = await sessionWith("grace", 1, base);
    await Promise.all(Array.from({ length: 200 }, (_, i) => sessions.create("grace", base + 1_000 + i)));
    const first = await sessions.listByUser("grace", { limit: 5 });
    expect(first.sessions).toEqual([]);
    expect(first.next).toBeDefined();
    expect((await allPages("grace", 5)).flat()).toEqual([old]);
  });

  it("never reaches another user's sessions, whatever position it is given", async () => {
    const base = 1_700_400_000_000;
    const heidis = await sessionWith("heidi", 1, base);
    await sessionWith("ivan", 1, base + 1);
    const page = await sessions.listByUser("ivan", { limit: 10, after: { sessionId: heidis, updatedAt: base + 5 } });
    expect(page.sessions.every((s) => s.userId === "ivan")).toBe(true);
    expect(page.sessions.map((s) => s.sessionId)).not.toContain(heidis);
  });
});

describe("session titles", () => {
  it("sets a title only while the session has none", async () => {
    const { sessionId } = await sessions.create("judy");
    expect(await sessions.setTitleIfEmpty(sessionId, "First")).toBe(true);
    expect(await sessions.setTitleIfEmpty(sessionId, "Second")).toBe(false);
    expect((await sessions.get(sessionId))?.title).toBe("First");
  });

  it("does not create a session to title it", async () => {
    const sessionId = randomUUID();
    expect(await sessions.setTitleIfEmpty(sessionId, "Ghost")).toBe(false);
    expect(await sessions.get(sessionId)).toBeUndefined();
  });
});

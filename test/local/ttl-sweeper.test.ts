import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTtlSweeper } from "../../packages/local/src/ttl-sweeper.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";

let db: TestDynamo;
let client: DynamoDBClient;

beforeAll(async () => {
  db = await startTestDynamo();
  client = new DynamoDBClient({ endpoint: db.dynamo.endpoint, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });
});
afterAll(async () => {
  client?.destroy();
  await db?.stop();
});

const ids = async (table: string, key: string) =>
  ((await db.doc.send(new ScanCommand({ TableName: table }))).Items ?? []).map((item) => String(item[key])).sort();

describe("the local TTL sweeper (dynalite has no TTL)", () => {
  it("deletes the connections and messageId guards whose expiresAt has passed, and keeps the rest", async () => {
    const now = 1_800_000_000;
    const sessionId = "00000000-0000-4000-8000-000000000000";
    for (const [id, expiresAt] of [["expired", now - 1], ["live", now + 60], ["exactly-now", now]] as const) {
      await db.doc.send(new PutCommand({ TableName: db.tables.connections, Item: { connectionId: id, sessionId, userId: "u", connectedAt: 0, expiresAt } }));
      await db.doc.send(new PutCommand({ TableName: db.tables.messageIds, Item: { messageId: id, sessionId, createdAt: 0, expiresAt } }));
    }
    await db.doc.send(new PutCommand({ TableName: db.tables.messageIds, Item: { messageId: "no-ttl", sessionId, createdAt: 0 } }));
    const sweeper = startTtlSweeper({
      client,
      now: () => now,
      intervalMs: 60_000,
      tables: [{ name: db.tables.connections, key: ["connectionId"] }, { name: db.tables.messageIds, key: ["messageId"] }],
    });
    expect(await sweeper.sweep()).toBe(2);
    expect(await ids(db.tables.connections, "connectionId")).toEqual(["exactly-now", "live"]);
    expect(await ids(db.tables.messageIds, "messageId")).toEqual(["exactly-now", "live", "no-ttl"]);
    expect(await sweeper.sweep()).toBe(0);
    await sweeper.stop();
  });

  /** A connection whose TTL ran out long ago. */
  const putExpiredConnection = (connectionId: string) =>
    db.doc.send(new PutCommand({ TableName: db.tables.connections, Item: { connectionId, sessionId: "s", userId: "u", connectedAt: 0, expiresAt: 1 } }));

  it("sweeps on its own every interval", async () => {
    await putExpiredConnection("stale");
    const sweeper = startTtlSweeper({ client, firstSweepMs: 20, intervalMs: 20, tables: [{ name: db.tables.connections, key: ["connectionId"] }] });
    await expect.poll(() => ids(db.tables.connections, "connectionId")).not.toContain("stale");
    await putExpiredConnection("stale-later");
    await expect.poll(() => ids(db.tables.connections, "connectionId")).not.toContain("stale-later");
    await sweeper.stop();
  });

  it("sweeps first soon after the start, then only after the (long) interval", async () => {
    await putExpiredConnection("stale-at-start");
    const sweeper = startTtlSweeper({ client, firstSweepMs: 20, intervalMs: 3_600_000, tables: [{ name: db.tables.connections, key: ["connectionId"] }] });
    await expect.poll(() => ids(db.tables.connections, "connectionId")).not.toContain("stale-at-start");
    await putExpiredConnection("stale-after");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await ids(db.tables.connections, "connectionId")).toContain("stale-after");
    await sweeper.stop();
  });
});

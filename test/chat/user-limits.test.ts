import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChatStack, stillUsable, tableName } from "../support/chat.ts";
import type { TestStack } from "../support/stack.ts";
import { ConnectionRefusedError, type TestClient } from "../support/ws-client.ts";

// A user's open connections and the sessions they may create per hour are capped at $connect
// (numbers from AZUCHI_MAX_CONNECTIONS_PER_USER and AZUCHI_MAX_NEW_SESSIONS_PER_HOUR; small here).

let stack: TestStack;
let doc: DynamoDBDocumentClient;

beforeAll(async () => ({ stack, doc } = await startChatStack({ environment: { AZUCHI_MAX_CONNECTIONS_PER_USER: "3", AZUCHI_MAX_NEW_SESSIONS_PER_HOUR: "2" } })));
afterAll(() => stack?.stop());

async function refusal(open: Promise<TestClient>): Promise<number> {
  try {
    await (await open).close();
    return 101;
  } catch (error) {
    if (error instanceof ConnectionRefusedError) return error.status;
    throw error;
  }
}

async function openConnections(userId: string): Promise<number> {
  const { Count } = await doc.send(
    new QueryCommand({ TableName: tableName(stack, "Connections"), IndexName: "byUser", KeyConditionExpression: "userId = :u", ExpressionAttributeValues: { ":u": userId }, Select: "COUNT" }),
  );
  return Count ?? 0;
}

describe("a user's open connections", () => {
  it("are capped: $connect refuses the next with 429 while the others stay usable, and a closed one frees a place", async () => {
    const first = await stack.connect("olga");
    const sessionId = await stack.sessionOf(first);
    const tabs = [first, await stack.connect("olga", sessionId), await stack.connect("olga", sessionId)];
    expect(await refusal(stack.connect("olga", sessionId))).toBe(429);
    expect(await openConnections("olga")).toBe(3);
    for (const tab of tabs) expect(await stillUsable(tab)).toBe(true);
    // Another user is not counted against olga.
    const other = await stack.connect("pavel");
    await other.close();

    await tabs.pop()!.close();
    await expect.poll(() => openConnections("olga")).toBe(2);
    const again = await stack.connect("olga", sessionId);
    expect(await stillUsable(again)).toBe(true);
    await Promise.all([...tabs, again].map((tab) => tab.close()));
  });
});

describe("the sessions a user may create per hour", () => {
  it("are capped at $connect without a sessionId (429), while the user's existing sessions stay open to them", async () => {
    const first = await stack.connect("quinn");
    const second = await stack.connect("quinn");
    const existing = await stack.sessionOf(second);
    await Promise.all([first.close(), second.close()]);
    expect(await refusal(stack.connect("quinn"))).toBe(429);
    const back = await stack.connect("quinn", existing);
    expect(await stack.sessionOf(back)).toBe(existing);
    await back.close();
    // Someone else still creates theirs.
    expect(await refusal(stack.connect("rosa"))).toBe(101);
  });
});

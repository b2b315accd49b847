import { randomUUID } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectStatus, signToken, startChatStack, tableName } from "../support/chat.ts";
import type { TestStack } from "../support/stack.ts";

let stack: TestStack;
let doc: DynamoDBDocumentClient;

beforeAll(async () => ({ stack, doc } = await startChatStack()));
afterAll(() => stack?.stop());

const withToken = (token: string, sessionId?: string) =>
  `${stack.webSocketUrl}?token=${encodeURIComponent(token)}${sessionId === undefined ? "" : `&sessionId=${encodeURIComponent(sessionId)}`}`;

async function connectionsOf(userId: string): Promise<Record<string, unknown>[]> {
  const { Items } = await doc.send(
    new QueryCommand({ TableName: tableName(stack, "Connections"), IndexName: "byUser", KeyConditionExpression: "userId = :u", ExpressionAttributeValues: { ":u": userId } }),
  );
  return Items ?? [];
}

describe("$connect", () => {
  it("creates a session for the token's user when no sessionId is given, and records the connection with a TTL", async () => {
    const tab = await stack.connect("erin");
    const sessionId = await stack.sessionOf(tab);
    const { Item } = await doc.send(new GetCommand({ TableName: tableName(stack, "Sessions"), Key: { sessionId } }));
    expect(Item).toMatchObject({ userId: "erin", title: "", messageCount: 0 });
    const [connection] = await connectionsOf("erin");
    const inTwoHours = Math.floor(Date.now() / 1000) + 2 * 3600;
    expect(connection).toMatchObject({ sessionId, userId: "erin" });
    expect(connection!.expiresAt).toBeGreaterThan(inTwoHours);
    expect(connection!.expiresAt).toBeLessThan(inTwoHours + 3600);
    await tab.close();
  });

  it("opens a tab on the user's own session", async () => {
    const first = await stack.connect("frank");
    const sessionId = await stack.sessionOf(first);
    const second = await stack.connect("frank", sessionId);
    expect(await stack.sessionOf(second)).toBe(sessionId);
    await Promise.all([first.close(), second.close()]);
  });

  it("refuses a session that is not a UUID (400), does not exist (404), or is someone else's (403)", async () => {
    const owner = await stack.connect("grace");
    const gracesSession = await stack.sessionOf(owner);
    const token = await stack.token("mallory");
    expect(await connectStatus(withToken(token, "not-a-uuid"))).toBe(400);
    expect(await connectStatus(withToken(token, randomUUID()))).toBe(404);
    expect(await connectStatus(withToken(token, gracesSession))).toBe(403);
    expect(await connectionsOf("mallory")).toEqual([]);
    await owner.close();
  });
});

describe("authentication at $connect", () => {
  it("accepts a token signed with the shared secret, for the configured issuer and audience", async () => {
    expect(await connectStatus(withToken(await signToken(stack, { sub: "ok-user" })))).toBe(101);
  });

  it("refuses a connection without a token with 401, as API Gateway does before calling the authorizer", async () => {
    expect(await connectStatus(stack.webSocketUrl)).toBe(401);
    expect(await connectStatus(`${stack.webSocketUrl}?token=`)).toBe(401);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const refused: [string, () => Promise<string>][] = [
    ["a bad signature", async () => `${(await stack.token("trent")).slice(0, -4)}AAAA`],
    ["another secret", () => signToken(stack, { sub: "trent" }, { secret: "not-the-secret-but-just-as-long-as-one" })],
    ["an expired token", () => signToken(stack, { sub: "trent", exp: now() - 60 })],
    ["a token not valid yet", () => signToken(stack, { sub: "trent", nbf: now() + 600 })],
    ["a token for another audience", () => signToken(stack, { sub: "trent", aud: "another-app" })],
    ["a token from another issuer", () => signToken(stack, { sub: "trent", iss: "https://evil.example" })],
    ["an unsigned token (alg: none)", async () => new UnsecuredJWT({ sub: "trent", iss: stack.environment.AZUCHI_AUTH_ISSUER, aud: stack.environment.AZUCHI_AUTH_AUDIENCE, exp: now() + 600 }).encode()],
    ["HS512", () => signToken(stack, { sub: "trent" }, { alg: "HS512" })],
    ["a token without a subject", () => signToken(stack, { sub: undefined })],
    ["something that is not a JWT", async () => "not.a.jwt"],
  ];
  it.each(refused)("refuses %s with 403, opening nothing", async (_name, token) => {
    expect(await connectStatus(withToken(await token()))).toBe(403);
    expect(await connectionsOf("trent")).toEqual([]);
  });
});

describe("$disconnect", () => {
  it("deletes the connection", async () => {
    const tab = await stack.connect("heidi");
    await stack.sessionOf(tab);
    expect(await connectionsOf("heidi")).toHaveLength(1);
    await tab.close();
    await expect.poll(() => connectionsOf("heidi")).toHaveLength(0);
  });
});

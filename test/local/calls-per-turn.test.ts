/**
 * What one plain turn (USER message, AGENT_LOG, streamed reply) costs in AWS calls, counted by
 * the local stack where each request arrives (GET /dev/calls), so a change that adds calls to
 * the hot path fails here rather than only showing in `npm run bench`.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { CallCounts } from "../../packages/core/src/call-counts.ts";
import type { ServerFrame } from "../../packages/core/src/frames.ts";
import { userMessageId } from "@azuchi/core/ids";
import { tokenize } from "../../packages/local/src/offline-model/index.ts";
import { isAgentReply } from "../support/chat.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import type { TestClient } from "../support/ws-client.ts";

/**
 * The bounds a plain turn with one tab must stay within, chat and agent and the session-title
 * subscriber together: issue 12's targets are at most 8 DynamoDB requests and 16 AWS calls.
 */
const DYNAMODB_PER_TURN = {
  // One request per stored message, guard and item together: USER (chat), AGENT_LOG and the
  // reply (agent; the reply's carries the session's summary for the turn's messages); and the
  // USER message's enqueuedAt with the session's summary for it (chat, once the job is queued).
  "dynamodb.TransactWriteItems": 4,
  // The session's tabs: once by chat, and by the agent's turn for each of its stored messages
  // (AGENT_LOG, reply), so a tab that reconnects mid-turn still gets the reply.
  "dynamodb.Query": 3,
  // No GetItem: chat knows the connection's session from the tab's first message, the title
  // subscriber that the session has its title, and a first delivery's AGENT_LOG write says
  // whether an earlier one could have stored the reply (it could not: nothing to read).
};
/** One PutEvents a turn: the agent's, with the USER message's MessagePosted (the job's `announce`). */
const OTHER_CALLS_PER_TURN = { "sqs.SendMessage": 1, "eventbridge.PutEvents": 1 };
/**
 * To the one tab: the ack (with the USER message), AGENT_LOG, reply, and the deltas (the first
 * at once, then coalesced; the text left when the model is done comes only in the reply).
 */
const MAX_POSTS_PER_TURN = 3 + 3;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ model: { firstTokenMs: 30, tokenMs: 5 } });
});
afterAll(async () => {
  await stack?.stop();
});

async function calls(path: "" | "/reset" = ""): Promise<CallCounts> {
  const response = await fetch(`${stack.url}/dev/calls${path}`, { method: path ? "POST" : "GET" });
  expect(response.status).toBe(200);
  return z.strictObject(CallCounts.shape).parse(await response.json());
}

/** Sends one message and waits until everything the turn set off has finished, its events' targets included. */
async function plainTurn(tab: TestClient, sessionId: string, text: string): Promise<ServerFrame[]> {
  const clientMessageId = randomUUID();
  const jobId = userMessageId(sessionId, clientMessageId);
  const from = tab.frames.length;
  tab.send({ action: "putMessage", message: text, clientMessageId });
  await tab.waitFor((f) => isAgentReply(f) && f.type === "message" && f.message.jobId === jobId);
  const published = (type: string, id: string) =>
    stack.recentEvents().some((e) => e["detail-type"] === type && Object.values(e.detail as Record<string, unknown>).includes(id));
  await expect.poll(() => published("MessagePosted", jobId) && published("AgentRunCompleted", jobId)).toBe(true);
  await stack.eventsDelivered();
  return tab.frames.slice(from);
}

describe("AWS calls per plain turn (GET /dev/calls)", () => {
  it("counts each call where it arrives, and starts afresh on reset", async () => {
    const tab = await stack.connect("counting-reset");
    const sessionId = await stack.sessionOf(tab);
    await plainTurn(tab, sessionId, "count me");
    const counted = await calls();
    expect(counted.calls["sqs.SendMessage"]).toBeGreaterThanOrEqual(1);
    expect(counted.calls["connections.PostToConnection"]).toBeGreaterThanOrEqual(4);
    // The poller stands in for Lambda's event source mapping: its receives are not the application's.
    expect(counted.calls["sqs.ReceiveMessage"]).toBeUndefined();
    const reset = await calls("/reset");
    expect(reset.calls).toEqual({});
    expect(reset.since).toBeGreaterThanOrEqual(counted.since);
    await tab.close();
  });

  it("keeps a plain turn within its DynamoDB requests and AWS calls, frames in the protocol's order", async () => {
    const tab = await stack.connect("counting");
    const sessionId = await stack.sessionOf(tab);
    // The first exchange also names the session; a plain turn is any later one.
    await plainTurn(tab, sessionId, "hello there");
    await calls("/reset");
    const frames = await plainTurn(tab, sessionId, "and one more thing");
    const { calls: counted } = await calls();

    const dynamodb = Object.fromEntries(Object.entries(counted).filter(([name]) => name.startsWith("dynamodb.")));
    expect(dynamodb).toEqual(DYNAMODB_PER_TURN);
    const { "connections.PostToConnection": posts = 0, ...rest } = Object.fromEntries(Object.entries(counted).filter(([name]) => !name.startsWith("dynamodb.")));
    expect(rest).toEqual(OTHER_CALLS_PER_TURN);
    expect(posts).toBeGreaterThanOrEqual(4);
    expect(posts).toBeLessThanOrEqual(MAX_POSTS_PER_TURN);
    const dynamodbRequests = Object.values(dynamodb).reduce((sum, n) => sum + n, 0);
    expect(dynamodbRequests).toBeLessThanOrEqual(8);
    expect(dynamodbRequests + Object.values(rest).reduce((sum, n) => sum + n, 0) + posts).toBeLessThanOrEqual(16);

    // The model is asked before the AGENT_LOG is shown, yet the tab sees the turn's frames in the
    // protocol's order. The USER message is chat's post and the turn's are the agent's: API
    // Gateway orders neither against the other (the agent may take the job and post its AGENT_LOG
    // before chat has shown the message it answers; clients place both by createdAt).
    // The sender's tab has its USER message from the ack, and no message frame of it besides.
    const ack = frames.find((f) => f.type === "ack");
    expect(ack?.type === "ack" && ack.message).toMatchObject({ role: "USER", messageType: "CONVERSATION", message: "and one more thing", messageId: ack?.messageId });
    const kinds = frames.filter((f) => f.type !== "ack").map((f) => (f.type === "message" ? `${f.message.role} ${f.message.messageType}` : f.type));
    expect(kinds.filter((k) => k === "USER CONVERSATION")).toHaveLength(0);
    expect(kinds[0]).toBe("AGENT AGENT_LOG");
    expect(kinds.indexOf("delta")).toBeGreaterThan(0);
    expect(kinds.at(-1)).toBe("AGENT CONVERSATION");
    // The first text is sent as it comes, not held for the coalescing (the model streams a
    // token every 5 ms here: coalesced, the first delta would hold several).
    const deltas = frames.filter((f) => f.type === "delta");
    const reply = frames.at(-1)!;
    expect(reply.type === "message" && deltas[0]?.delta).toBe(reply.type === "message" && tokenize(reply.message.message)[0]);
    await tab.close();
  });
});

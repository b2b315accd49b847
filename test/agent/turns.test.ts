import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionsRepository, createDocumentClient, MessagesRepository, type AgentJob, type ServerFrame } from "@azuchi/core";
import { messageFrame, messagesIn, where } from "../support/frames.ts";
import { stackRedis, stackSqs, startTestStack, type TestStack } from "../support/stack.ts";

let stack: TestStack;
let redis: Redis;
let sqs: SQSClient;

beforeAll(async () => {
  stack = await startTestStack();
  redis = stackRedis(stack);
  sqs = stackSqs(stack);
});
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

const agentReply = messageFrame("CONVERSATION", "AGENT");

describe("a streamed turn", () => {
  it("sends coalesced deltas before the final message, and they join to the start of its text", async () => {
    stack.model!.configure({ firstTokenMs: 20, tokenMs: 4 });
    try {
      const tab = await stack.connect("streamer");
      await stack.sessionOf(tab);
      const words = Array.from({ length: 120 }, (_, i) => `word${i}`).join(" ");
      tab.send({ action: "putMessage", message: words });
      const final = await tab.waitFor(agentReply);
      const deltas = tab.frames.filter((f): f is Extract<ServerFrame, { type: "delta" }> => f.type === "delta" && f.messageId === final.message.messageId);
      // 120+ tokens at 4 ms each, flushed every 50 ms or 200 characters: a handful of frames, not one per token.
      expect(deltas.length).toBeGreaterThan(2);
      expect(deltas.length).toBeLessThan(60);
      expect(tab.frames.indexOf(deltas.at(-1)!)).toBeLessThan(tab.frames.indexOf(final));
      let offset = 0;
      for (const delta of deltas) {
        expect(delta.offset).toBe(offset);
        offset += delta.delta.length;
      }
      // The text still waiting for the coalescing when the model was done comes only in the final message.
      expect(final.message.message.startsWith(deltas.map((d) => d.delta).join(""))).toBe(true);
      expect(final.message.message).toContain(words);
      await tab.close();
    } finally {
      stack.model!.configure({ firstTokenMs: 20, tokenMs: 2 });
    }
  });

  it("shows a plan-and-time request as: the first AGENT_LOG, the PLAN as it is made and updated, the time tool's AGENT_LOGs, then the CONVERSATION", async () => {
    const tab = await stack.connect("planner");
    await stack.sessionOf(tab);
    tab.send({ action: "putMessage", message: "Make a plan for my trip and tell me the time" });
    await tab.waitFor(agentReply);
    const agent = messagesIn(tab.frames).filter((m) => m.role === "AGENT");
    expect(agent.map((m) => m.messageType)).toEqual(["AGENT_LOG", "PLAN", "PLAN", "AGENT_LOG", "AGENT_LOG", "PLAN", "CONVERSATION"]);
    const [received, stated, progressed, calling, outcome, finished, reply] = agent;
    const statuses = (plan: typeof stated) => (plan!.payload as { plan: { status: string }[] }).plan.map((step) => step.status);
    expect(received!.message).toBe("Working on your message…");
    expect(statuses(stated)).toEqual(["in_progress", "pending", "pending"]);
    expect(stated!.message).toMatch(/^.*\n?1\. \[~\] /m);
    expect(statuses(progressed)).toEqual(["completed", "in_progress", "pending"]);
    expect(calling!.message).toBe("Calling get_current_time…");
    expect(outcome!.message).toMatch(/^get_current_time: .*\(UTC\)$/);
    expect(statuses(finished)).toEqual(["completed", "completed", "completed"]);
    expect(finished!.message).toMatch(/^.*\n?3\. \[x\] /m);
    expect(reply!.message).toContain("Make a plan for my trip and tell me the time");
    await tab.close();
  });
});

describe("the language azuchi speaks in a turn", () => {
  it("is the page's locale when it is Japanese or English, else the message's", async () => {
    const received = async (message: string, locale?: string) => {
      const tab = await stack.connect("polyglot");
      await stack.sessionOf(tab);
      tab.send({ action: "putMessage", message, ...(locale && { locale }) });
      await tab.waitFor(agentReply);
      await tab.close();
      return messagesIn(tab.frames).find((m) => m.messageType === "AGENT_LOG")?.message;
    };
    expect(await received("京都でおすすめの寺は？", "en-US")).toBe("Working on your message…");
    expect(await received("Which temple in Kyoto?", "ja-JP")).toBe("メッセージを確認しています…");
    expect(await received("京都でおすすめの寺は？", "fr-FR")).toBe("メッセージを確認しています…");
  });
});

describe("exactly-once turns", () => {
  it("posts nothing new when a completed job is delivered again", async () => {
    const tab = await stack.connect("replayer");
    const sessionId = await stack.sessionOf(tab);
    tab.send({ action: "putMessage", message: "only once", clientMessageId: randomUUID() });
    const first = await tab.waitFor(agentReply);
    const jobId = first.message.jobId!;
    await expect.poll(() => redis.get(`azuchi:ai-agent:session:{${sessionId}}:job:${jobId}`)).toBe("completed");

    const job: AgentJob = { v: 1, jobId, sessionId, userId: "replayer", messageId: jobId, message: "only once", createdAt: Date.now(), source: "websocket" };
    const before = tab.frames.length;
    // A redelivery (SQS dedup is bypassed with another dedup id), then a new message of the same session after it.
    await sqs.send(new SendMessageCommand({ QueueUrl: stack.queues.jobs, MessageBody: JSON.stringify(job), MessageGroupId: sessionId, MessageDeduplicationId: randomUUID() }));
    tab.send({ action: "putMessage", message: "after the replay" });
    await tab.waitFor((f) => agentReply(f) && f.message.message.includes("after the replay"));
    const replayed = messagesIn(tab.frames, before).filter((m) => m.jobId === jobId);
    expect(replayed).toEqual([]);
    await tab.close();
  });
});

describe("conversation state", () => {
  it("falls back to the Redis history when previous_response_id has expired at OpenAI", async () => {
    const tab = await stack.connect("forgetful");
    const sessionId = await stack.sessionOf(tab);
    tab.send({ action: "putMessage", message: "remember the word azalea" });
    await tab.waitFor(agentReply);
    const key = `azuchi:ai-agent:session:{${sessionId}}:previous_response_id`;
    await expect.poll(() => redis.get(key)).toMatch(/^resp_/);
    await redis.set(key, "resp_expired_long_ago");

    const before = tab.frames.length;
    tab.send({ action: "putMessage", message: "what was the word?" });
    const reply = await tab.waitFor(where(agentReply, (f) => tab.frames.indexOf(f) >= before));
    expect(reply.message.message).toContain("what was the word?");
    await expect.poll(() => redis.get(key)).not.toBe("resp_expired_long_ago");
    // The rebuilt context carried the first exchange: more input tokens than the message alone.
    await expect.poll(() => stack.recentEvents().some((e) => (e.detail as { jobId?: string }).jobId === reply.message.jobId && e["detail-type"] === "AgentRunCompleted")).toBe(true);
    const usage = (stack.recentEvents().find((e) => e["detail-type"] === "AgentRunCompleted" && (e.detail as { jobId: string }).jobId === reply.message.jobId)!.detail as { usage: { inputTokens: number } }).usage;
    // "what was the word?" alone is 4 tokens; the first exchange adds at least 10 more.
    expect(usage.inputTokens).toBeGreaterThan(14);
    await tab.close();
  });
});

describe("stopping a turn", () => {
  it("stops the running answer at its next heartbeat, keeps the partial reply marked stopped, and tells every tab", async () => {
    // 800 words at 40 ms a token: the whole answer would stream for over 30 s. The stop is read at
    // the turn's heartbeat (every 500 ms), so the reply ends a few tokens after the request; how
    // soon, in milliseconds, is for the bench, not for a test on a loaded machine.
    stack.model!.configure({ tokenMs: 40 });
    try {
      const tab = await stack.connect("stopper");
      const sessionId = await stack.sessionOf(tab);
      const other = await stack.connect("stopper", sessionId);
      const message = Array.from({ length: 800 }, (_, i) => `w${i}`).join(" ");
      tab.send({ action: "putMessage", message });
      await tab.waitFor((f) => f.type === "delta");
      await redis.set(`azuchi:ai-agent:session:{${sessionId}}:stop`, String(Date.now()), "EX", 60);
      const stopped = await tab.waitFor(agentReply);
      expect(stopped.message.stopped).toBe(true);
      const deltas = tab.frames.filter((f) => f.type === "delta").map((f) => (f.type === "delta" ? f.delta : ""));
      expect(stopped.message.message.startsWith(deltas.join(""))).toBe(true);
      // Cut off well before the end: the answer quotes the whole message.
      expect(stopped.message.message.length).toBeLessThan(message.length / 4);
      await other.waitFor((f) => agentReply(f) && f.message.stopped === true);
      await expect.poll(() => redis.exists(`azuchi:ai-agent:session:{${sessionId}}:stop`)).toBe(0);
      // The next turn starts from the history, which holds the partial reply.
      expect(await redis.exists(`azuchi:ai-agent:session:{${sessionId}}:previous_response_id`)).toBe(0);
      const history = await redis.lrange(`azuchi:ai-agent:session:{${sessionId}}:history`, 0, 0);
      expect(JSON.parse(history[0]!)).toMatchObject({ role: "AGENT", message: stopped.message.message });
      await Promise.all([tab.close(), other.close()]);
    } finally {
      stack.model!.configure({ tokenMs: 2 });
    }
  });

  it("ignores a stop request made before the turn began", async () => {
    const tab = await stack.connect("late-stopper");
    const sessionId = await stack.sessionOf(tab);
    await redis.set(`azuchi:ai-agent:session:{${sessionId}}:stop`, String(Date.now() - 5_000), "EX", 60);
    tab.send({ action: "putMessage", message: "carry on" });
    const reply = await tab.waitFor(agentReply);
    expect(reply.message.stopped).toBeUndefined();
    await tab.close();
  });
});

describe("fan-out", () => {
  it("removes a connection that answers 410 and still reaches the other tabs", async () => {
    const tab = await stack.connect("gone-tab");
    const sessionId = await stack.sessionOf(tab);
    const connections = new ConnectionsRepository(createDocumentClient(), JSON.parse(stack.environment.SST_RESOURCE_Connections!).name);
    // Connected a minute ago: a 410 from a younger connection may be its handshake, and keeps the row.
    await connections.put({ connectionId: "GoneConnection0=", sessionId, userId: "gone-tab", connectedAt: Date.now() - 60_000 });
    tab.send({ action: "putMessage", message: "anyone there?" });
    await tab.waitFor(agentReply);
    expect(await connections.get("GoneConnection0=")).toBeUndefined();
    expect((await connections.listBySession(sessionId)).length).toBe(1);
    await tab.close();
  });

  it("sends a frame over API Gateway's 128 KB as parts that join to it", async () => {
    const tab = await stack.connect("big");
    const sessionId = await stack.sessionOf(tab);
    const long = "長い🎌".repeat(2_666);
    const tables = Object.fromEntries(["Sessions", "Connections", "Messages", "MessageIds"].map((name) => [name[0]!.toLowerCase() + name.slice(1), JSON.parse(stack.environment[`SST_RESOURCE_${name}`]!).name]));
    const repository = new MessagesRepository(createDocumentClient(), tables as never);
    for (let i = 0; i < 6; i++) {
      await repository.put({ sessionId, messageId: randomUUID(), createdAt: Date.now() + i, role: "USER", messageType: "CONVERSATION", message: long });
    }
    const start = tab.frames.length;
    tab.send({ action: "getSession" });
    const parts = await new Promise<Extract<ServerFrame, { type: "part" }>[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no parts")), 10_000);
      const check = () => {
        const got = tab.frames.slice(start).filter((f): f is Extract<ServerFrame, { type: "part" }> => f.type === "part");
        if (got.length > 0 && got.length === got[0]!.count) return clearTimeout(timer), resolve(got);
        setTimeout(check, 20);
      };
      check();
    });
    expect(parts.length).toBeGreaterThan(1);
    const frame = JSON.parse(parts.sort((a, b) => a.index - b.index).map((p) => p.data).join("")) as ServerFrame;
    expect(frame.type).toBe("session");
    expect(frame.type === "session" && frame.messages.filter((m) => m.message === long).length).toBeGreaterThanOrEqual(6);
    await tab.close();
  });
});

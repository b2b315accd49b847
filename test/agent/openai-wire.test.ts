import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { settingsFromEnvironment } from "@azuchi/agent";
import { createDocumentClient, MessagesRepository, redisKeys, type Message } from "@azuchi/core";
import { messageFrame, messagesIn, where } from "../support/frames.ts";
import { parseTranscript } from "../fixtures/openai-responses/transcript.ts";
import { startOpenAiReplay, type OpenAiReplay } from "../support/openai-replay.ts";
import { stackRedis, stackSqs, startTestStack, type TestStack } from "../support/stack.ts";
import type { TestClient } from "../support/ws-client.ts";

// Issue 10's table, row by row, through the whole stack: the real openai client (OPENAI_API_KEY
// set, OPENAI_BASE_URL at a replay of the recorded transcripts), the consumer taking the job
// from the queue, and a WebSocket tab seeing what a user sees.

let replay: OpenAiReplay;
let stack: TestStack;
let redis: Redis;
let messages: MessagesRepository;
const keys = redisKeys();

beforeAll(async () => {
  replay = await startOpenAiReplay();
  stack = await startTestStack({
    openaiApiKey: "sk-test",
    // Quick retries, and none inside the client, so a retried job shows as a retry.
    environment: { OPENAI_BASE_URL: replay.url, AZUCHI_RETRY_BASE_SECONDS: "1", AZUCHI_OPENAI_MAX_RETRIES: "0" },
  });
  redis = stackRedis(stack);
  messages = new MessagesRepository(createDocumentClient(), settingsFromEnvironment().tables);
});
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
  await replay?.close();
});
beforeEach(() => {
  replay.requests.length = 0;
});

const isReply = messageFrame("CONVERSATION", "AGENT");
/** OpenAI's answer to a chain whose last response holds a function call no output answered. */
const noToolOutput = parseTranscript(
  "no-tool-output-400",
  `HTTP/1.1 400 Bad Request\ncontent-type: application/json\n\n${JSON.stringify({ error: { message: "No tool output found for function call call_CuT1plan0000000000000001.", type: "invalid_request_error", param: "input", code: null } })}`,
);
const isFinalNotice = where(messageFrame("SYSTEM_LOG", "SYSTEM"), (f) => (f.message.payload as { final?: boolean } | undefined)?.final === true);

/** A new session of `user` whose next message is answered with `answers`. */
async function ask(user: string, message: string, ...answers: string[]): Promise<{ tab: TestClient; sessionId: string }> {
  const tab = await stack.connect(user);
  const sessionId = await stack.sessionOf(tab);
  replay.answer(...answers);
  tab.send({ action: "putMessage", message });
  return { tab, sessionId };
}

async function stored(sessionId: string): Promise<Message[]> {
  return (await messages.list(sessionId)).filter((m) => m.role !== "USER");
}

/** The session's memory once it holds `entries` entries (a reply is shown before its memory is written). */
async function historyOf(sessionId: string, entries = 2): Promise<{ role: string; message: string }[]> {
  for (let tries = 0; ; tries++) {
    const raw = await redis.lrange(keys.history(sessionId), 0, -1);
    if (raw.length >= entries || tries === 200) return raw.map((item) => JSON.parse(item) as { role: string; message: string }).reverse();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function activityOf(frames: TestClient["frames"]): string[] {
  return messagesIn(frames).filter((m) => m.messageType === "AGENT_LOG").map((m) => m.message);
}

describe("what the user gets for each recorded stream", () => {
  it("a refusal: the refusal is the reply, stored marked as one and remembered", async () => {
    const { tab, sessionId } = await ask("refused", "help me with something bad", "refusal");
    const reply = await tab.waitFor(isReply);
    expect(reply.message.message).toBe("I'm sorry, but I can't help with that.");
    expect(reply.message.payload).toEqual({ refusal: true });
    expect((await stored(sessionId)).find((m) => m.messageType === "CONVERSATION")?.payload).toEqual({ refusal: true });
    expect((await historyOf(sessionId)).at(-1)).toMatchObject({ role: "AGENT", message: "I'm sorry, but I can't help with that." });
    // The request as OpenAI recommends it: truncation, a cache key per session, a hashed user.
    expect(replay.requests[0]!.body).toMatchObject({ truncation: "auto", prompt_cache_key: sessionId, safety_identifier: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(replay.requests[0]!.body)).not.toContain("refused");
    await tab.close();
  });

  it("a reasoning model spending max_output_tokens: a reply saying it was cut off, its reasoning in the activity", async () => {
    const { tab, sessionId } = await ask("thinker", "compare every framework", "reasoning-max-output-tokens");
    const reply = await tab.waitFor(isReply);
    expect(reply.message.message).toMatch(/ran out of room before it could write an answer/);
    expect(reply.message.payload).toEqual({ incomplete: "max_output_tokens" });
    expect(activityOf(tab.frames)).toContain("**Weighing the options**\n\nThe user asks for a long comparison…");
    expect((await stored(sessionId)).find((m) => m.messageType === "CONVERSATION")?.payload).toEqual({ incomplete: "max_output_tokens" });
    await tab.close();
  });

  it("response.incomplete mid-text: the text kept, marked cut off", async () => {
    const { tab, sessionId } = await ask("cut", "tell me about Kyoto's temples", "incomplete-mid-text");
    const reply = await tab.waitFor(isReply);
    expect(reply.message.message).toBe("Kyoto has three famous temples: Kinkaku-ji, Ginkaku-ji and Kiyomizu-");
    expect((await stored(sessionId)).find((m) => m.messageType === "CONVERSATION")?.payload).toEqual({ incomplete: "max_output_tokens" });
    await tab.close();
  });

  it("response.incomplete mid function-call arguments: the call is never run", async () => {
    const { tab, sessionId } = await ask("cutcall", "plan my trip", "incomplete-mid-function-call", "plain-text");
    const reply = await tab.waitFor(isReply);
    expect(reply.message.payload).toEqual({ incomplete: "max_output_tokens" });
    const kinds = (await stored(sessionId)).map((m) => m.messageType);
    expect(kinds).not.toContain("PLAN");
    expect(replay.requests).toHaveLength(1);
    // The cut response holds a call no output will answer: the next message must not chain on it.
    await historyOf(sessionId, 2);
    expect(await redis.get(keys.previousResponseId(sessionId))).toBeNull();
    replay.answer("plain-text");
    const start = tab.frames.length;
    tab.send({ action: "putMessage", message: "then just say hello" });
    await tab.waitFor(where(isReply, (f) => tab.frames.indexOf(f) >= start));
    expect(replay.requests[1]!.body.previous_response_id).toBeUndefined();
    expect((replay.requests[1]!.body.input as { role: string }[]).map((item) => item.role)).toEqual(["user", "assistant", "user"]);
    await tab.close();
  });

  it("a session already chained on a cut-off call (400 No tool output found): rebuilt from the history and answered", async () => {
    const { tab, sessionId } = await ask("stuckcall", "first message", "plain-text");
    await tab.waitFor(isReply);
    await historyOf(sessionId, 2);
    // What an older agent left: the id of a response cut off mid-call, which OpenAI refuses to continue.
    await redis.set(keys.previousResponseId(sessionId), "resp_0a07cutcall000000000000000000000");
    replay.requests.length = 0;
    replay.answer(noToolOutput, "plain-text");
    const start = tab.frames.length;
    tab.send({ action: "putMessage", message: "second message" });
    const reply = await tab.waitFor(where(isReply, (f) => tab.frames.indexOf(f) >= start), 20_000);
    expect(reply.message.message).toBe("Hello! How can I help you today?");
    expect(messagesIn(tab.frames).filter((m) => m.messageType === "SYSTEM_LOG")).toEqual([]);
    expect(replay.requests.map((r) => r.body.previous_response_id)).toEqual(["resp_0a07cutcall000000000000000000000", undefined]);
    await historyOf(sessionId, 4);
    expect(await redis.get(keys.previousResponseId(sessionId))).toBe("resp_0a01plaintext0000000000000000000");
    await tab.close();
  });

  it("a preamble, a tool call, then the answer: the preamble in the activity trail, the answer alone in the reply", async () => {
    const { tab, sessionId } = await ask("preamble", "what time is it in Tokyo?", "preamble-1-commentary-and-call", "preamble-2-final-answer");
    const reply = await tab.waitFor(isReply);
    expect(reply.message.message).toBe("It is 06:14 in Tokyo (Asia/Tokyo).");
    expect(activityOf(tab.frames)).toContain("Let me check the current time first.");
    expect((await historyOf(sessionId)).at(-1)?.message).toBe("It is 06:14 in Tokyo (Asia/Tokyo).");
    await tab.close();
  });

  for (const name of ["context-length-exceeded-400", "context-length-exceeded-stream"]) {
    it(`context_length_exceeded (${name}): the chain is dropped, the context rebuilt, answered on the first attempt`, async () => {
      const { tab, sessionId } = await ask(`long-${name}`, "first message", "chained-2-text");
      await tab.waitFor(isReply);
      await historyOf(sessionId, 2);
      const chained = await redis.get(keys.previousResponseId(sessionId));
      expect(chained).toBe("resp_0a03chain20000000000000000000000");
      replay.requests.length = 0;
      replay.answer(name, "plain-text");
      const start = tab.frames.length;
      tab.send({ action: "putMessage", message: "second message" });
      const reply = await tab.waitFor(where(isReply, (f) => tab.frames.indexOf(f) >= start));
      expect(reply.message.message).toBe("Hello! How can I help you today?");
      expect(messagesIn(tab.frames).filter((m) => m.messageType === "SYSTEM_LOG")).toEqual([]);
      expect(replay.requests.map((r) => r.body.previous_response_id)).toEqual([chained, undefined]);
      expect(replay.requests[1]!.body.input).toEqual([
        { role: "user", content: "first message" },
        { role: "assistant", content: "It is 21:14 UTC right now." },
        { role: "user", content: "second message" },
      ]);
      // The next message chains on the fresh response, not on the one that was too long.
      await historyOf(sessionId, 4);
      expect(await redis.get(keys.previousResponseId(sessionId))).toBe("resp_0a01plaintext0000000000000000000");
      await tab.close();
    });
  }

  const finals: [string, string, RegExp, RegExp][] = [
    ["insufficient-quota-429", "quota", /run out of credit or quota/, /insufficient_quota/],
    ["model-not-found-404", "model-not-found", /AI model the service does not offer/, /model_not_found/],
    ["request-too-large-413", "too-large", /too large for the AI model/, /413/],
    ["request-too-large-tokens-429", "too-large", /too large for the AI model/, /Request too large/],
  ];
  for (const [name, failure, notice, reason] of finals) {
    it(`${name}: given up at once, the user told what happened, ops told why`, async () => {
      const { tab, sessionId } = await ask(`final-${name}`, "hello there", name);
      const told = await tab.waitFor(isFinalNotice, 20_000);
      expect(told.message.message).toMatch(notice);
      expect(told.message.payload).toMatchObject({ final: true, failure });
      expect(messagesIn(tab.frames).filter((m) => m.messageType === "SYSTEM_LOG")).toHaveLength(1);
      expect(replay.requests).toHaveLength(1);
      const failures = stack.recentEvents().filter((e) => e["detail-type"] === "AgentRunFailed" && (e.detail as { sessionId: string }).sessionId === sessionId);
      expect(failures.map((e) => e.detail)).toEqual([expect.objectContaining({ final: true, attempt: 1, reason: expect.stringMatching(reason) })]);
      await tab.close();
    });
  }

  it("model_not_found on a chained session is not taken for a lost previous response", async () => {
    const { tab, sessionId } = await ask("chained-unknown-model", "first", "plain-text");
    await tab.waitFor(isReply);
    await historyOf(sessionId, 2);
    replay.requests.length = 0;
    replay.answer("model-not-found-404", "plain-text");
    tab.send({ action: "putMessage", message: "second" });
    await tab.waitFor(isFinalNotice, 20_000);
    expect(replay.requests).toHaveLength(1);
    expect(await redis.get(keys.previousResponseId(sessionId))).toBe("resp_0a01plaintext0000000000000000000");
    await tab.close();
  });

  it("a model still calling tools after AZUCHI_MAX_MODEL_STEPS calls: given up at once, not paid for again by retries", async () => {
    const { tab } = await ask("looping", "what time is it?", "chained-1-tool-call");
    const told = await tab.waitFor(isFinalNotice, 20_000);
    expect(told.message.payload).toMatchObject({ final: true, failure: "too-many-steps" });
    expect(told.message.message).toMatch(/kept calling tools/);
    expect(messagesIn(tab.frames).filter((m) => m.messageType === "SYSTEM_LOG")).toHaveLength(1);
    expect(replay.requests).toHaveLength(settingsFromEnvironment().model.maxSteps);
    await tab.close();
  });

  it("the Japanese user is told in Japanese", async () => {
    const { tab } = await ask("quota-ja", "こんにちは、元気ですか", "insufficient-quota-429");
    const told = await tab.waitFor(isFinalNotice, 20_000);
    expect(told.message.message).toMatch(/クレジットまたは利用枠が尽きています/);
    await tab.close();
  });

  it("an event: error mid-stream: a retryable failure with its code, then answered", async () => {
    const { tab, sessionId } = await ask("streamerr", "what is the capital of Japan?", "stream-error-event", "plain-text");
    const reply = await tab.waitFor(isReply, 20_000);
    expect(reply.message.message).toBe("Hello! How can I help you today?");
    const notices = messagesIn(tab.frames).filter((m) => m.messageType === "SYSTEM_LOG").map((m) => m.message);
    expect(notices).toEqual(["The agent could not answer (attempt 1); retrying shortly…"]);
    const failures = stack.recentEvents().filter((e) => e["detail-type"] === "AgentRunFailed" && (e.detail as { sessionId: string }).sessionId === sessionId);
    expect(failures.map((e) => e.detail)).toEqual([expect.objectContaining({ final: false, reason: expect.stringMatching(/server_error/) })]);
    await tab.close();
  });

  it("a 429 rate limit: retried no sooner than its retry-after", async () => {
    const { tab } = await ask("limited", "hello", "rate-limit-exceeded-429", "plain-text");
    await tab.waitFor(isReply, 20_000);
    const [limited, retried] = replay.requests;
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(1_640);
    await tab.close();
  });

  it("a call to a tool the agent does not have: shown in the activity, the model told, then answered", async () => {
    const { tab } = await ask("unknowntool", "weather in Osaka tomorrow?", "unknown-tool-call", "plain-text");
    const reply = await tab.waitFor(isReply);
    expect(reply.message.message).toBe("Hello! How can I help you today?");
    expect(activityOf(tab.frames)).toContain("The model asked for a tool azuchi does not have (search_web); it was told so.");
    const output = (replay.requests[1]!.body.input as { type: string; output: string }[])[0]!;
    expect(output.type).toBe("function_call_output");
    expect(output.output).toMatch(/no tool named search_web/);
    await tab.close();
  });
});

describe("the give-up leaves the job in the dead-letter queue with its reason", () => {
  it("has every final failure above in the DLQ", async () => {
    const sqs = stackSqs(stack);
    const reasons: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.queues.dlq, MaxNumberOfMessages: 10, MessageAttributeNames: ["All"], WaitTimeSeconds: 1 }));
      reasons.push(...Messages.map((m) => m.MessageAttributes?.reason?.StringValue ?? ""));
    }
    expect(reasons.some((r) => r.includes("insufficient_quota"))).toBe(true);
    expect(reasons.some((r) => r.includes("model_not_found"))).toBe(true);
  });
});

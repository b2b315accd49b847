/**
 * The offline model emits each case of the Responses API that test/fixtures/openai-responses
 * records, through the real `openai` client: asked for with the `scenario` setting (sticky, or
 * for the next faultRequests requests) or `[[name]]` in the user message.
 */
import { createServer, type Server } from "node:http";
import OpenAI from "openai";
import type { Response, ResponseInputItem, ResponseStreamEvent } from "openai/resources/responses/responses";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { handleDevRequest } from "../../packages/local/src/dev-endpoints.ts";
import { acceptingModel, startOfflineModel, type OfflineModel, type Scenario } from "../../packages/local/src/offline-model/index.ts";
import { readTranscript } from "../fixtures/openai-responses/transcript.ts";
import { agentTools, startModelAndClient } from "../support/offline-model.ts";

const tools = agentTools;

let model: OfflineModel;
let client: OpenAI;

beforeAll(async () => ({ model, client } = await startModelAndClient()));
afterAll(() => model.close());
afterEach(() => {
  model.configure({ mode: "ok", scenario: null, contextTokens: null });
});

async function collect(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

async function streamed(body: OpenAI.Responses.ResponseCreateParamsStreaming): Promise<ResponseStreamEvent[]> {
  return collect(await client.responses.create(body));
}

function types(events: ResponseStreamEvent[]): string[] {
  return events.map((event) => event.type);
}

function final(events: ResponseStreamEvent[]): Response {
  const last = events.at(-1);
  if (last?.type !== "response.completed" && last?.type !== "response.incomplete" && last?.type !== "response.failed") throw new Error(`no final event: ${last?.type}`);
  return last.response;
}

/** The raw answer, headers and body, without the client's interpretation. */
async function raw(body: Record<string, unknown>): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(`${model.baseURL}/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function outputs(response: Response, output: (name: string) => string): ResponseInputItem[] {
  return response.output.flatMap((item) => (item.type === "function_call" ? [{ type: "function_call_output" as const, call_id: item.call_id, output: output(item.name) }] : []));
}

describe("the wire object", () => {
  it("has no output_text, and says service_tier as OpenAI does: the tier asked for, then the one that served", async () => {
    const events = await streamed({ model: "gpt-4.1-mini", input: "hi", stream: true });
    expect(events[0]).toMatchObject({ type: "response.created", response: { service_tier: "auto", status: "in_progress" } });
    expect(final(events)).toMatchObject({ service_tier: "default", status: "completed" });
    for (const event of events) if ("response" in event) expect(event.response).not.toHaveProperty("output_text");
    const plain = await raw({ model: "gpt-4.1-mini", input: "hi", service_tier: "flex" });
    const body = JSON.parse(plain.text) as Record<string, unknown>;
    expect(body).not.toHaveProperty("output_text");
    expect(body).toMatchObject({ service_tier: "flex", truncation: "disabled" });
  });
});

describe("scenarios", () => {
  it("refusal: a refusal part streamed with refusal.delta/.done, sticky until the scenario is cleared", async () => {
    model.configure({ scenario: "refusal" });
    const events = await streamed({ model: "offline", input: "Tell me a secret", stream: true });
    expect(types(events)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...Array<string>(8).fill("response.refusal.delta"),
      "response.refusal.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events[3]).toMatchObject({ part: { type: "refusal", refusal: "" } });
    const refusal = "I'm sorry, but I can't help with that.";
    expect(events.find((e) => e.type === "response.refusal.done")).toMatchObject({ refusal, output_index: 0, content_index: 0 });
    expect(final(events).output).toEqual([expect.objectContaining({ type: "message", status: "completed", content: [{ type: "refusal", refusal }] })]);
    const again = await client.responses.create({ model: "offline", input: "Again?" });
    expect(again.output_text).toBe("");
    expect(again.output[0]).toMatchObject({ content: [{ type: "refusal" }] });
    model.configure({ scenario: null });
    expect((await client.responses.create({ model: "offline", input: "Now?" })).output_text).toBe('You said: "Now?".');
  });

  it("a [[name]] in the user message applies the scenario to that turn only", async () => {
    const refused = await client.responses.create({ model: "offline", input: "[[refusal]] 秘密を教えて" });
    expect(refused.output[0]).toMatchObject({ content: [{ type: "refusal", refusal: "申し訳ありませんが、そのご依頼にはお応えできません。" }] });
    const next = await client.responses.create({ model: "offline", input: "hello", previous_response_id: refused.id });
    expect(next.output_text).toBe('You said: "hello".');
    await expect(client.responses.create({ model: "offline", input: "[[context-length-exceeded]] hi" })).rejects.toMatchObject({ status: 400, code: "context_length_exceeded" });
    // An unknown name is only text.
    expect((await client.responses.create({ model: "offline", input: "[[nope]]" })).output_text).toBe('You said: "[[nope]]".');
  });

  it("reasoning-max-output-tokens: only a reasoning item with its summary streamed, then response.incomplete", async () => {
    model.configure({ scenario: "reasoning-max-output-tokens" });
    const events = await streamed({ model: "o4-mini", input: "Compare every database", max_output_tokens: 64, reasoning: { effort: "medium", summary: "auto" }, stream: true });
    const kinds = types(events);
    expect(kinds.slice(0, 4)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.reasoning_summary_part.added"]);
    expect(kinds).toContain("response.reasoning_summary_text.delta");
    expect(kinds.slice(-4)).toEqual(["response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done", "response.incomplete"]);
    const response = final(events);
    expect(response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, reasoning: { effort: "medium", summary: "auto" } });
    expect(response.output).toHaveLength(1);
    expect(response.output[0]).toMatchObject({ type: "reasoning", status: "incomplete", summary: [{ type: "summary_text", text: expect.stringContaining("Compare every database") }] });
    expect(response.usage).toMatchObject({ output_tokens: 64, output_tokens_details: { reasoning_tokens: 64 } });
  });

  it("incomplete-mid-text: the text cut halfway, the item and the response incomplete", async () => {
    model.configure({ scenario: "incomplete-mid-text" });
    const response = await client.responses.create({ model: "offline", input: "one two three four five six" });
    expect(response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } });
    expect(response.output[0]).toMatchObject({ type: "message", status: "incomplete" });
    expect('You said: "one two three four five six".'.startsWith(response.output_text)).toBe(true);
    expect(response.output_text.length).toBeLessThan('You said: "one two three four five six".'.length);
  });

  it("incomplete-mid-function-call: arguments that do not parse, no arguments.done, the item incomplete", async () => {
    model.configure({ scenario: "incomplete-mid-function-call" });
    const events = await streamed({ model: "offline", input: "Make a plan for my move", tools, stream: true });
    expect(types(events)).not.toContain("response.function_call_arguments.done");
    expect(types(events)).toContain("response.function_call_arguments.delta");
    const response = final(events);
    expect(response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } });
    const [call] = response.output;
    if (call?.type !== "function_call") throw new Error("expected a function call");
    expect(call).toMatchObject({ name: "update_plan", status: "incomplete" });
    expect(() => JSON.parse(call.arguments)).toThrow();
  });

  it("parallel-tool-calls: both tools in one response, then the answer with both outputs", async () => {
    model.configure({ scenario: "parallel-tool-calls" });
    const first = await client.responses.create({ model: "offline", input: "Plan my day and tell me the time", tools });
    expect(first.output.map((item) => item.type === "function_call" && item.name)).toEqual(["update_plan", "get_current_time"]);
    const events = await streamed({ model: "offline", input: "Plan my day and tell me the time", tools, stream: true });
    const added = events.flatMap((event) => (event.type === "response.output_item.added" ? [event.output_index] : []));
    expect(added).toEqual([0, 1]);
    const second = await client.responses.create({
      model: "offline",
      previous_response_id: first.id,
      input: outputs(first, (name) => (name === "update_plan" ? "Plan updated." : JSON.stringify({ time: "09:30" }))),
      tools,
    });
    expect(second.output_text).toContain("09:30");
    expect(second.output_text).toContain("plan");
  });

  it("preamble: a commentary message before the call, then the answer marked final_answer", async () => {
    model.configure({ scenario: "preamble" });
    const first = await client.responses.create({ model: "gpt-5.1", input: "Hello there", tools });
    expect(first.output).toEqual([
      expect.objectContaining({ type: "reasoning", summary: [] }),
      expect.objectContaining({ type: "message", phase: "commentary", content: [expect.objectContaining({ text: "Let me check the current time first." })] }),
      expect.objectContaining({ type: "function_call", name: "get_current_time" }),
    ]);
    const second = await client.responses.create({ model: "gpt-5.1", previous_response_id: first.id, input: outputs(first, () => "12:00"), tools });
    expect(second.output).toEqual([expect.objectContaining({ type: "message", phase: "final_answer" })]);
    expect(second.output_text).toContain("12:00");
  });

  it("unknown-tool-call: a call to search_web, which the request does not offer, then an answer", async () => {
    model.configure({ scenario: "unknown-tool-call" });
    const first = await client.responses.create({ model: "offline", input: "Weather in Osaka?", tools });
    expect(first.output).toEqual([expect.objectContaining({ type: "function_call", name: "search_web", arguments: JSON.stringify({ query: "Weather in Osaka?" }) })]);
    const second = await client.responses.create({ model: "offline", previous_response_id: first.id, input: outputs(first, () => '{"error":"no such tool"}'), tools });
    expect(second.output_text).toContain("search_web returned");
  });

  it("context-length-exceeded-stream: response.failed after the lifecycle events, not stored; a 400 when not streamed", async () => {
    model.configure({ scenario: "context-length-exceeded-stream" });
    const events = await streamed({ model: "offline", input: "hi", stream: true });
    expect(types(events)).toEqual(["response.created", "response.in_progress", "response.failed"]);
    const failed = final(events);
    expect(failed).toMatchObject({ status: "failed", error: { code: "context_length_exceeded" }, output: [], usage: null });
    await expect(client.responses.retrieve(failed.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.responses.create({ model: "offline", input: "hi" })).rejects.toMatchObject({ status: 400, code: "context_length_exceeded", param: "input" });
  });

  it("stream-error: an `error` event mid-text (which the openai client throws on), nothing after it, nothing stored", async () => {
    model.configure({ scenario: "stream-error" });
    const answer = await raw({ model: "offline", input: "The capital of Japan", stream: true });
    const frames = answer.text.trim().split("\n\n").map((frame) => frame.split("\n"));
    const last = frames.at(-1)!;
    expect(last[0]).toBe("event: error");
    expect(JSON.parse(last[1]!.slice("data: ".length))).toMatchObject({ type: "error", code: "server_error", param: null, message: expect.stringContaining("The server had an error") });
    expect(answer.text).toContain("response.output_text.delta");
    expect(answer.text).not.toContain("response.output_text.done");
    expect(answer.text).not.toContain("response.completed");
    const client_ = client.responses.create({ model: "offline", input: "again", stream: true });
    await expect(collect(await client_)).rejects.toBeInstanceOf(OpenAI.APIError);
    await expect(client.responses.create({ model: "offline", input: "unstreamed" })).rejects.toMatchObject({ status: 500, code: "server_error" });
  });

  it.each([
    ["context-length-exceeded", 400, { code: "context_length_exceeded", type: "invalid_request_error", param: "input" }, OpenAI.BadRequestError],
    ["insufficient-quota", 429, { code: "insufficient_quota", type: "insufficient_quota" }, OpenAI.RateLimitError],
    ["model-not-found", 404, { code: "model_not_found", type: "invalid_request_error" }, OpenAI.NotFoundError],
    ["request-too-large", 413, { code: "request_too_large", type: "invalid_request_error" }, OpenAI.APIError],
    ["request-too-large-tokens", 429, { code: "rate_limit_exceeded", type: "tokens" }, OpenAI.RateLimitError],
    ["rate-limit-exceeded", 429, { code: "rate_limit_exceeded", type: "requests" }, OpenAI.RateLimitError],
  ] as const)("%s: HTTP %i with OpenAI's error body", async (scenario, status, error, kind) => {
    model.configure({ scenario });
    const answer = await raw({ model: "gpt-4.1", input: "hi", stream: true });
    expect(answer.status).toBe(status);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { ...error, message: expect.any(String) } });
    expect(answer.headers.get("x-request-id")).toMatch(/^req_/);
    // Only a rate limit says when to come back; a spent quota or an oversized request never passes by waiting.
    expect(answer.headers.get("retry-after") !== null).toBe(scenario === "rate-limit-exceeded");
    await expect(client.responses.create({ model: "gpt-4.1", input: "hi" })).rejects.toBeInstanceOf(kind);
  });

  it("a scenario with faultRequests applies to the next N requests, then the model heals", async () => {
    expect(model.configure({ scenario: "insufficient-quota", faultRequests: 1 })).toMatchObject({ scenario: "insufficient-quota", faultRequests: 1 });
    await expect(client.responses.create({ model: "offline", input: "one" })).rejects.toMatchObject({ status: 429, code: "insufficient_quota" });
    expect(model.settings()).toMatchObject({ mode: "ok", scenario: null, faultRequests: null });
    await expect(client.responses.create({ model: "offline", input: "two" })).resolves.toMatchObject({ status: "completed" });
  });
});

describe("the same events as the transcripts", () => {
  /** Event types with each run of deltas as one, since the texts differ in length. */
  const shape = (kinds: string[]) => kinds.filter((kind, index) => !(kind.endsWith(".delta") && kinds[index - 1] === kind));
  const cases: [transcript: string, scenario: Scenario | null, input: string][] = [
    ["plain-text", null, "hello"],
    ["chained-1-tool-call", null, "What time is it?"],
    ["parallel-tool-calls", "parallel-tool-calls", "Plan my trip and tell me the time"],
    ["refusal", "refusal", "hi"],
    ["reasoning-max-output-tokens", "reasoning-max-output-tokens", "Compare them all"],
    ["incomplete-mid-text", "incomplete-mid-text", "Name three temples in Kyoto"],
    ["incomplete-mid-function-call", "incomplete-mid-function-call", "Plan my move"],
    ["preamble-1-commentary-and-call", "preamble", "What time is it in Tokyo?"],
    ["context-length-exceeded-stream", "context-length-exceeded-stream", "hi"],
    ["stream-error-event", "stream-error", "The capital of Japan"],
    ["unknown-tool-call", "unknown-tool-call", "Weather in Osaka tomorrow?"],
  ];
  it.each(cases)("%s", async (name, scenario, input) => {
    model.configure({ scenario });
    const answer = await raw({ model: "gpt-4.1", input, tools, stream: true });
    const offline = answer.text.trim().split("\n\n").map((frame) => frame.split("\n")[0]!.slice("event: ".length));
    expect(shape(offline)).toEqual(shape(readTranscript(name).events.map((frame) => frame.event)));
    expect(answer.headers.get("content-type")).toMatch(/^text\/event-stream/);
  });
});

describe("models", () => {
  it("answers the usual OpenAI names and refuses others with model_not_found (404)", async () => {
    for (const name of ["gpt-4.1-mini", "gpt-4.1-2025-04-14", "gpt-4o-mini", "gpt-5", "gpt-5.1-codex", "o3", "o4-mini-2025-04-16", "offline"]) {
      await expect(client.responses.create({ model: name, input: "hi" }), name).resolves.toMatchObject({ model: name, status: "completed" });
    }
    const unknown = client.responses.create({ model: "gpt-9-turbo", input: "hi" });
    await expect(unknown).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(unknown).rejects.toMatchObject({ status: 404, code: "model_not_found", message: "404 The model `gpt-9-turbo` does not exist or you do not have access to it." });
  });

  it("takes its list of names as a setting", async () => {
    const own = await startOfflineModel({ firstTokenMs: 0, tokenMs: 0, models: ["my-local-llm", "qwen*"] });
    try {
      const ownClient = new OpenAI({ apiKey: "offline", baseURL: own.baseURL, maxRetries: 0 });
      await expect(ownClient.responses.create({ model: "qwen3-8b", input: "hi" })).resolves.toMatchObject({ status: "completed" });
      await expect(ownClient.responses.create({ model: "my-local-llm", input: "hi" })).resolves.toMatchObject({ status: "completed" });
      await expect(ownClient.responses.create({ model: "gpt-4.1", input: "hi" })).rejects.toMatchObject({ status: 404, code: "model_not_found" });
    } finally {
      await own.close();
    }
  });

  it("answers to the model a local stack is configured with (AZUCHI_OPENAI_MODEL), whatever its name", async () => {
    const own = await startOfflineModel(acceptingModel({ firstTokenMs: 0, tokenMs: 0 }, "llama3.1:8b"));
    try {
      const ownClient = new OpenAI({ apiKey: "offline", baseURL: own.baseURL, maxRetries: 0 });
      await expect(ownClient.responses.create({ model: "llama3.1:8b", input: "hi" })).resolves.toMatchObject({ status: "completed" });
      await expect(ownClient.responses.create({ model: "gpt-4.1-mini", input: "hi" })).resolves.toMatchObject({ status: "completed" });
      await expect(ownClient.responses.create({ model: "llama3.2", input: "hi" })).rejects.toMatchObject({ status: 404 });
    } finally {
      await own.close();
    }
  });
});

describe("the context window", () => {
  it("refuses a chain grown past contextTokens with context_length_exceeded, unless truncation is auto", async () => {
    model.configure({ contextTokens: 20 });
    const first = await client.responses.create({ model: "offline", input: "one two three four five six seven" });
    // The chain now holds 7 + 9 tokens; the next input's 7 push it past 20.
    const long = "eight nine ten eleven twelve thirteen fourteen";
    const refused = client.responses.create({ model: "offline", input: long, previous_response_id: first.id });
    await expect(refused).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(refused).rejects.toMatchObject({ code: "context_length_exceeded", param: "input", message: expect.stringContaining("context window") });

    const truncated = await client.responses.create({ model: "offline", input: long, previous_response_id: first.id, truncation: "auto" });
    expect(truncated).toMatchObject({ status: "completed", truncation: "auto" });
    expect(truncated.output_text).toBe(`You said: "${long}".`);
    // The oldest item, the first message, was dropped: the first reply and the new message remain.
    expect(truncated.usage!.input_tokens).toBe(9 + 7);
  });

  it("refuses even with truncation auto when the current message alone does not fit", async () => {
    model.configure({ contextTokens: 3 });
    await expect(client.responses.create({ model: "offline", input: "one two three four", truncation: "auto" })).rejects.toMatchObject({ status: 400, code: "context_length_exceeded" });
  });
});

describe("POST /dev/model", () => {
  let dev: Server;
  let devUrl: string;
  beforeAll(async () => {
    dev = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://dev");
      void handleDevRequest(req, res, url, { secret: "s", issuer: "i", audience: "a" }, model);
    });
    await new Promise<void>((resolve) => dev.listen(0, "127.0.0.1", resolve));
    const address = dev.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    devUrl = `http://127.0.0.1:${address.port}/dev/model`;
  });
  afterAll(() => new Promise<void>((resolve) => dev.close(() => resolve())));

  it("sets a scenario, a context window and the model list, and refuses an unknown scenario", async () => {
    const post = (body: unknown) => fetch(devUrl, { method: "POST", body: JSON.stringify(body) });
    const set = await post({ scenario: "refusal", faultRequests: 2, contextTokens: 5000, models: ["offline", "gpt-4.1*"] });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ scenario: "refusal", faultRequests: 2, contextTokens: 5000, models: ["offline", "gpt-4.1*"] });
    expect((await client.responses.create({ model: "offline", input: "hi" })).output[0]).toMatchObject({ content: [{ type: "refusal" }] });
    const bad = await post({ scenario: "everything" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("stream-error");
    expect(await (await fetch(devUrl)).json()).toMatchObject({ scenario: "refusal", faultRequests: 1 });
    await post({ scenario: null, models: ["offline", "gpt-4.1*", "gpt-4o*", "gpt-5*", "o1*", "o3*", "o4-mini*"] });
  });
});

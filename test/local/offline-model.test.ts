import OpenAI from "openai";
import type { ResponseFunctionToolCall, ResponseStreamEvent } from "openai/resources/responses/responses";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidOfflineModelSettingsError, startOfflineModel, tokenize, type OfflineModel } from "../../packages/local/src/offline-model/index.ts";
import { agentTools, startModelAndClient } from "../support/offline-model.ts";

const tools = agentTools;

let model: OfflineModel;
let client: OpenAI;

beforeAll(async () => ({ model, client } = await startModelAndClient()));
afterAll(() => model.close());

async function collect(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

function deltas(events: ResponseStreamEvent[]): string[] {
  return events.flatMap((event) => (event.type === "response.output_text.delta" ? [event.delta] : []));
}

function onlyCall(response: OpenAI.Responses.Response): ResponseFunctionToolCall {
  expect(response.output).toHaveLength(1);
  const [item] = response.output;
  if (item?.type !== "function_call") throw new Error(`expected a function call, got ${JSON.stringify(item)}`);
  expect(response.output_text).toBe("");
  return item;
}

describe("the offline model's reply", () => {
  it("quotes a Japanese message verbatim, emoji included, in Japanese", async () => {
    const response = await client.responses.create({ model: "offline", input: "こんにちは！！ 🎌" });
    expect(response.status).toBe("completed");
    expect(response.output_text).toBe("「こんにちは！！ 🎌」と受け取りました。");
  });

  it("quotes an English message verbatim, in English, from the latest user message", async () => {
    const response = await client.responses.create({
      model: "offline",
      instructions: "Be brief.",
      input: [
        { role: "user", content: "first" },
        { role: "assistant", content: [{ type: "output_text", text: "ok" }] },
        { role: "user", content: [{ type: "input_text", text: "hello  there, world" }] },
      ] as OpenAI.Responses.ResponseInput,
    });
    expect(response.output_text).toBe('You said: "hello  there, world".');
    const [message] = response.output;
    expect(message).toMatchObject({ type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", annotations: [] }] });
    expect(message?.id).toMatch(/^msg_/);
    expect(response.id).toMatch(/^resp_/);
  });

  it("counts tokens by the tokeniser: a word with its spaces, a CJK character, an emoji", async () => {
    expect(tokenize('You said: "hi  all".')).toEqual(["You ", "said: ", '"hi  ', 'all".']);
    expect(tokenize("「日本」🎌👨‍👩‍👧 ok")).toEqual(["「", "日", "本", "」", "🎌", "👨‍👩‍👧 ", "ok"]);
    const response = await client.responses.create({ model: "offline", instructions: "Be brief.", input: "hi all" });
    expect(response.usage).toMatchObject({ input_tokens: 4, output_tokens: 4, total_tokens: 8 });
  });

  it("tokenises ASCII character by character as the segmenter would: CR LF, tabs, controls, and the digits and signs that are emoji only with a variation selector", () => {
    const ascii = "a\r\nb\t#1 *x\u0001y  0.";
    expect(tokenize(ascii)).toEqual(["a\r\n", "b\t", "#1 ", "*x\u0001y  ", "0."]);
    // One character outside ASCII sends the whole text through the grapheme segmenter: the same tokens, and the emoji's own.
    expect(tokenize(`${ascii} 🎌`)).toEqual([...tokenize(`${ascii} `), "🎌"]);
    expect(tokenize(`é ${ascii}`)).toEqual(["é ", ...tokenize(ascii)]);
  });
});

describe("streaming", () => {
  it("streams one token per delta, and the deltas join to the final output_text", async () => {
    const stream = await client.responses.create({ model: "offline", input: "hello world", stream: true });
    const events = await collect(stream);
    expect(deltas(events)).toEqual(["You ", "said: ", '"hello ', 'world".']);
    expect(events.map((event) => event.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...Array<string>(4).fill("response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    const completed = events.at(-1);
    if (completed?.type !== "response.completed") throw new Error("no response.completed");
    // The wire object has no output_text (the SDK adds it to what create() returns): the text is in output.
    expect(completed.response).not.toHaveProperty("output_text");
    expect(completed.response.output[0]).toMatchObject({ type: "message", content: [{ type: "output_text", text: deltas(events).join("") }] });
  });

  it("gives the same reply through responses.stream and finalResponse, a CJK character per delta", async () => {
    const stream = client.responses.stream({ model: "offline", input: "こんにちは" });
    const seen: string[] = [];
    stream.on("response.output_text.delta", (event) => seen.push(event.delta));
    const response = await stream.finalResponse();
    expect(response.output_text).toBe("「こんにちは」と受け取りました。");
    expect(seen).toHaveLength(16);
    expect(seen.join("")).toBe(response.output_text);
    expect(response.usage?.output_tokens).toBe(16);
  });

  it("waits firstTokenMs before the first token and tokenMs between tokens", async () => {
    const slow = await startOfflineModel({ firstTokenMs: 0, tokenMs: 0 });
    try {
      slow.configure({ firstTokenMs: 200, tokenMs: 50 });
      const slowClient = new OpenAI({ apiKey: "offline", baseURL: slow.baseURL, maxRetries: 0 });
      const started = performance.now();
      const arrivals: number[] = [];
      const stream = slowClient.responses.stream({ model: "offline", input: "one two three" });
      stream.on("response.output_text.delta", () => arrivals.push(performance.now() - started));
      await stream.finalResponse();
      expect(arrivals).toHaveLength(5);
      expect(arrivals[0]).toBeGreaterThanOrEqual(195);
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(4 * 50 - 10);
    } finally {
      await slow.close();
    }
  });

  it("stops writing when the client goes away mid-stream, and keeps serving", async () => {
    model.configure({ tokenMs: 20 });
    try {
      const stream = await client.responses.create({ model: "offline", input: "a b c d e f g h i j k l m n o p", stream: true });
      for await (const event of stream) if (event.type === "response.output_text.delta") break;
      const next = await client.responses.create({ model: "offline", input: "still there?" });
      expect(next.output_text).toBe('You said: "still there?".');
    } finally {
      model.configure({ tokenMs: 0 });
    }
  });
});

describe("tools", () => {
  it("states its plan, marks each step done as it goes (before the time call and before the answer), then answers with the time", async () => {
    const input = "Make a plan and tell me the time";
    const first = await client.responses.create({ model: "offline", input, tools });
    const plan = onlyCall(first);
    expect(plan).toMatchObject({ name: "update_plan", status: "completed" });
    expect(plan.id).toMatch(/^fc_/);
    expect(plan.call_id).toMatch(/^call_/);
    const args = JSON.parse(plan.arguments) as { explanation: string; plan: { step: string; status: string }[] };
    expect(args.explanation).toContain(input);
    expect(args.plan[0]?.step).toContain(input);
    expect(args.plan.map((step) => step.status)).toEqual(["in_progress", "pending", "pending"]);

    const next = async (previous: OpenAI.Responses.Response, call: ResponseFunctionToolCall, output: string) =>
      client.responses.create({ model: "offline", previous_response_id: previous.id, input: [{ type: "function_call_output", call_id: call.call_id, output }], tools });
    const statuses = (call: ResponseFunctionToolCall) => (JSON.parse(call.arguments) as typeof args).plan.map((step) => step.status);

    const second = await next(first, plan, "Plan updated.");
    const progress = onlyCall(second);
    expect(progress.name).toBe("update_plan");
    expect(statuses(progress)).toEqual(["completed", "in_progress", "pending"]);

    const third = await next(second, progress, "Plan updated.");
    const time = onlyCall(third);
    expect(time.name).toBe("get_current_time");
    expect(JSON.parse(time.arguments)).toEqual({ timezone: null });

    const fourth = await next(third, time, JSON.stringify({ timezone: "UTC", time: "2026-11-05T09:30:00Z" }));
    const done = onlyCall(fourth);
    expect(done.name).toBe("update_plan");
    expect(statuses(done)).toEqual(["completed", "completed", "completed"]);

    const answer = await next(fourth, done, "Plan updated.");
    expect(answer.output_text).toContain(`"${input}"`);
    expect(answer.output_text).toContain("2026-11-05T09:30:00Z");
    // One plan, told of once however often it was updated.
    expect(answer.output_text.match(/I made a plan with 3 steps/g)).toHaveLength(1);
  });

  it("marks a plan without a time call all done before it answers", async () => {
    const first = await client.responses.create({ model: "offline", input: "Plan my afternoon", tools });
    const plan = onlyCall(first);
    expect((JSON.parse(plan.arguments) as { plan: { status: string }[] }).plan.map((s) => s.status)).toEqual(["in_progress", "pending"]);
    const second = await client.responses.create({ model: "offline", previous_response_id: first.id, input: [{ type: "function_call_output", call_id: plan.call_id, output: "ok" }], tools });
    const done = onlyCall(second);
    expect((JSON.parse(done.arguments) as { plan: { status: string }[] }).plan.map((s) => s.status)).toEqual(["completed", "completed"]);
    const answer = await client.responses.create({ model: "offline", previous_response_id: second.id, input: [{ type: "function_call_output", call_id: done.call_id, output: "ok" }], tools });
    expect(answer.output_text).toBe('You said: "Plan my afternoon". I made a plan with 2 steps.');
  });

  it("asks for the user's own time (the agent knows their zone) in Japanese, with the conversation sent in full instead of chained", async () => {
    const user = { role: "user" as const, content: "今何時ですか？" };
    const first = await client.responses.create({ model: "offline", input: [user], tools, store: false });
    const call = onlyCall(first);
    expect(call.name).toBe("get_current_time");
    expect(JSON.parse(call.arguments)).toEqual({ timezone: null });
    const echoed = { type: "function_call" as const, call_id: call.call_id, name: call.name, arguments: call.arguments };
    const answer = await client.responses.create({
      model: "offline",
      input: [user, echoed, { type: "function_call_output", call_id: call.call_id, output: "18:05" }],
      tools,
    });
    expect(answer.output_text).toContain("「今何時ですか？」");
    expect(answer.output_text).toContain("18:05");
  });

  it("calls no tool the request does not offer", async () => {
    const response = await client.responses.create({ model: "offline", input: "What time is it?", tools: tools.slice(0, 1) });
    expect(response.output_text).toBe('You said: "What time is it?".');
  });

  it("refuses a conversation whose function call has no output, as OpenAI does", async () => {
    const first = await client.responses.create({ model: "offline", input: "what time is it", tools });
    const call = onlyCall(first);
    const next = client.responses.create({ model: "offline", previous_response_id: first.id, input: "hello", tools });
    await expect(next).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(next).rejects.toThrow(`No tool output found for function call ${call.call_id}.`);
  });
});

describe("stored responses", () => {
  it("chains by previous_response_id: the earlier turn is context, and the response can be retrieved", async () => {
    const first = await client.responses.create({ model: "offline", input: "one" });
    const second = await client.responses.create({ model: "offline", input: "two", previous_response_id: first.id });
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toBe('You said: "two".');
    // Context = the first input and output, then the new input.
    expect(second.usage?.input_tokens).toBe(1 + tokenize(first.output_text).length + 1);
    const retrieved = await client.responses.retrieve(second.id);
    expect(retrieved.output_text).toBe(second.output_text);
  });

  it("answers an unknown previous_response_id with previous_response_not_found", async () => {
    const request = client.responses.create({ model: "offline", input: "hi", previous_response_id: "resp_unknown" });
    const error: unknown = await request.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({
      status: 400,
      code: "previous_response_not_found",
      param: "previous_response_id",
      type: "invalid_request_error",
      error: { message: "Previous response with id 'resp_unknown' not found." },
    });
  });

  it("does not keep a response sent with store: false", async () => {
    const unstored = await client.responses.create({ model: "offline", input: "forget me", store: false });
    const chained = client.responses.create({ model: "offline", input: "hi", previous_response_id: unstored.id });
    await expect(chained).rejects.toMatchObject({ status: 400, code: "previous_response_not_found" });
    await expect(client.responses.retrieve(unstored.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe("limits and failures", () => {
  const long = Array.from({ length: 30 }, (_, i) => `word${i}`).join(" ");

  it("truncates at max_output_tokens and marks the response incomplete", async () => {
    const response = await client.responses.create({ model: "offline", input: long, max_output_tokens: 16 });
    expect(response.status).toBe("incomplete");
    expect(response.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(response.usage?.output_tokens).toBe(16);
    expect(response.output_text).toBe(tokenize(`You said: "${long}".`).slice(0, 16).join(""));

    const events = await collect(await client.responses.create({ model: "offline", input: long, max_output_tokens: 16, stream: true }));
    expect(deltas(events)).toHaveLength(16);
    expect(events.at(-1)).toMatchObject({ type: "response.incomplete", response: { status: "incomplete", output: [{ status: "incomplete", content: [{ text: response.output_text }] }] } });
  });

  it("answers every request with a 500 in fail mode, until set back", async () => {
    model.configure({ mode: "fail" });
    try {
      const failing = client.responses.create({ model: "offline", input: "hi" });
      await expect(failing).rejects.toBeInstanceOf(OpenAI.InternalServerError);
      await expect(failing).rejects.toMatchObject({ status: 500, type: "server_error", code: "server_error" });
      await expect(failing).rejects.toThrow("The offline model is in fail mode (POST /dev/model to change it).");
    } finally {
      model.configure({ mode: "ok" });
    }
    await expect(client.responses.create({ model: "offline", input: "hi" })).resolves.toMatchObject({ status: "completed" });
  });

  it("rejects a malformed body with OpenAI's error shape", async () => {
    const badRole = client.responses.create({ model: "offline", input: [{ role: "robot", content: "hi" }] } as never);
    await expect(badRole).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(badRole).rejects.toMatchObject({ type: "invalid_request_error", param: "input[0].role" });
    await expect(client.responses.create({ input: "hi" } as never)).rejects.toMatchObject({ param: "model", code: "missing_required_parameter" });
    await expect(client.responses.create({ model: "offline", input: "hi", max_output_tokens: 5 })).rejects.toMatchObject({
      param: "max_output_tokens",
      code: "integer_below_min_value",
    });
  });

  it("answers bad JSON with 400, an unknown route with 404 and a body over 1 MB with 413", async () => {
    const post = (path: string, body: string) => fetch(`${model.baseURL}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const badJson = await post("/responses", "{not json");
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: { type: "invalid_request_error", param: null, code: null } });
    const unknown = await post("/chat/completions", "{}");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { message: "Invalid URL (POST /v1/chat/completions)", type: "invalid_request_error", param: null, code: null } });
    const huge = await post("/responses", JSON.stringify({ model: "offline", input: "x".repeat(1024 * 1024) }));
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: { type: "invalid_request_error" } });
  });
});

describe("faults for the drills", () => {
  it("answers 429 with Retry-After and x-ratelimit-* headers in rate-limit mode", async () => {
    model.configure({ mode: "rate-limit", retryAfterSeconds: 7 });
    try {
      const raw = await fetch(`${model.baseURL}/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "offline", input: "hi" }) });
      expect(raw.status).toBe(429);
      expect(raw.headers.get("retry-after")).toBe("7");
      expect(raw.headers.get("x-ratelimit-remaining-requests")).toBe("0");
      expect(raw.headers.get("x-ratelimit-reset-requests")).toBe("7s");
      expect(await raw.json()).toMatchObject({ error: { type: "requests", code: "rate_limit_exceeded" } });
      await expect(client.responses.create({ model: "offline", input: "hi" })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    } finally {
      model.configure({ mode: "ok" });
    }
  });

  it("fails only the next N requests, then heals to ok by itself", async () => {
    expect(model.configure({ mode: "fail", faultRequests: 2 })).toMatchObject({ mode: "fail", faultRequests: 2 });
    await expect(client.responses.create({ model: "offline", input: "one" })).rejects.toMatchObject({ status: 500 });
    expect(model.settings()).toMatchObject({ mode: "fail", faultRequests: 1 });
    await expect(client.responses.create({ model: "offline", input: "two" })).rejects.toMatchObject({ status: 500 });
    expect(model.settings()).toMatchObject({ mode: "ok", faultRequests: null });
    await expect(client.responses.create({ model: "offline", input: "three" })).resolves.toMatchObject({ status: "completed" });
  });

  it("in hang mode sends nothing until the client gives up, and the next request is answered", async () => {
    model.configure({ mode: "hang", faultRequests: 1 });
    const impatient = new OpenAI({ apiKey: "offline", baseURL: model.baseURL, maxRetries: 0, timeout: 300 });
    await expect(impatient.responses.create({ model: "offline", input: "anyone?", stream: true })).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    await expect(client.responses.create({ model: "offline", input: "now?" })).resolves.toMatchObject({ status: "completed" });
  });
});

describe("settings", () => {
  const defaults = {
    mode: "ok",
    firstTokenMs: 20,
    tokenMs: 2,
    retryAfterSeconds: 1,
    faultRequests: null,
    scenario: null,
    contextTokens: null,
    models: ["offline", "gpt-4.1*", "gpt-4o*", "gpt-5*", "o1*", "o3*", "o4-mini*"],
  };
  it("changes only the fields given and rejects bad values without changing anything", async () => {
    const own = await startOfflineModel();
    try {
      expect(own.settings()).toEqual(defaults);
      expect(own.configure({ tokenMs: 7 })).toEqual({ ...defaults, tokenMs: 7 });
      const bad: unknown[] = [{ mode: "broken" }, { firstTokenMs: -1 }, { tokenMs: 1.5 }, { tokenMs: 60_001 }, { firstTokenMs: "20" }, { speed: 1 }, { faultRequests: 0 }, { retryAfterSeconds: -1 }, { scenario: "nope" }, { contextTokens: 0 }, { models: [] }, { models: ["two words"] }];
      for (const patch of bad) {
        expect(() => own.configure(patch as never), JSON.stringify(patch)).toThrow(InvalidOfflineModelSettingsError);
      }
      expect(own.settings()).toEqual({ ...defaults, tokenMs: 7 });
      expect(own.configure({ mode: "fail", firstTokenMs: 0 })).toEqual({ ...defaults, mode: "fail", firstTokenMs: 0, tokenMs: 7 });
    } finally {
      await own.close();
    }
    await expect(startOfflineModel({ tokenMs: -5 })).rejects.toThrow(InvalidOfflineModelSettingsError);
  });
});

/**
 * One POST /v1/responses, decided in full before anything is sent: the conversation (the
 * stored chain plus this input, fitted to the context window), the output items under the
 * scenario, truncation and usage. The server then only paces it out (streamed or not).
 */
import { randomBytes } from "node:crypto";
import { assertCallsAnswered, currentTurn, fromInput, type ConversationItem } from "./conversation.ts";
import { CONTEXT_LENGTH_EXCEEDED_MESSAGE, SERVER_ERROR_MESSAGE, contextLengthExceeded } from "./errors.ts";
import { planResponse, scenarioError, scenarioInMessage, type PlannedItem, type Scenario } from "./scenarios.ts";
import type { ResponseStore } from "./store.ts";
import { countTokens, tokenize } from "./tokens.ts";
import type { CreateResponseBody, OutputItem, ResponseObject } from "./wire.ts";

/** How a stream ends instead of its final event; such a response is never stored. */
export type StreamFailure =
  /** response.failed, before any output item. */
  | { kind: "failed"; code: string; message: string }
  /** An `error` event after the first `afterTokens` deltas of the last item. */
  | { kind: "error"; code: string; message: string; afterTokens: number };

export interface Generation {
  /** The finished response, as response.completed (or .incomplete, or .failed) carries it. */
  response: ResponseObject;
  /** Per output item, the tokens in which its text, refusal, arguments or reasoning summary is streamed. */
  tokens: string[][];
  /** This request's own input, stored with the response for later chaining. */
  input: ConversationItem[];
  failure?: StreamFailure;
  /** The service tier asked for, which the in-progress events carry ("auto" unless sent). */
  requestedTier: string;
}

export interface GenerateOptions {
  /** The scenario set through /dev/model; null lets a `[[name]]` in the user message choose. */
  scenario: Scenario | null;
  contextTokens: number | null;
  retryAfterSeconds: number;
}

export function newId(prefix: "resp" | "msg" | "fc" | "call" | "rs"): string {
  return `${prefix}_${randomBytes(16).toString("hex")}`;
}

export function generateResponse(body: CreateResponseBody, store: ResponseStore, options: GenerateOptions): Generation {
  const previousId = body.previous_response_id ?? null;
  const input = fromInput(body.input);
  const whole = [...(previousId === null ? [] : store.conversationThrough(previousId)), ...input];
  assertCallsAnswered(whole);

  const scenario = options.scenario ?? scenarioInMessage(currentTurn(whole).userText);
  const refused = scenario === null ? undefined : scenarioError(scenario, body.model, body.stream === true, options.retryAfterSeconds);
  if (refused !== undefined) throw refused;

  const instructions = body.instructions ?? null;
  const instructionTokens = instructions === null ? 0 : countTokens(instructions);
  const truncation = body.truncation ?? "disabled";
  const conversation = fitContext(whole, instructionTokens, options.contextTokens, truncation);
  const inputTokens = instructionTokens + conversation.reduce((sum, entry) => sum + countTokens(itemText(entry)), 0);

  const tools = body.tools ?? [];
  // tool_choice "none" forbids calls; every other choice lets the model pick, as it would.
  const offered = new Set(body.tool_choice === "none" ? [] : tools.flatMap((tool) => (tool.type === "function" && typeof tool.name === "string" ? [tool.name] : [])));
  const plan = planResponse(scenario, currentTurn(conversation), offered, body.max_output_tokens ?? undefined);

  const reasoningTokens = plan.reasoningTokens ?? 0;
  let remaining = (body.max_output_tokens ?? Number.POSITIVE_INFINITY) - reasoningTokens;
  let incomplete = false;
  const output: OutputItem[] = [];
  const tokens: string[][] = [];
  for (const [index, planned] of plan.items.entries()) {
    let itemTokens = plannedTokens(planned, plan.cutLast === true && index === plan.items.length - 1);
    let cut = plan.cutLast === true && index === plan.items.length - 1;
    // A reasoning summary is not what the budget is spent on: reasoningTokens are.
    if (planned.kind !== "reasoning" && itemTokens.length > remaining) {
      itemTokens = itemTokens.slice(0, Math.max(0, remaining));
      cut = true;
    }
    if (planned.kind !== "reasoning") remaining -= itemTokens.length;
    if (cut && itemTokens.length === 0 && planned.kind !== "reasoning") {
      incomplete = true;
      break;
    }
    output.push(outputItem(planned, itemTokens.join(""), cut ? "incomplete" : "completed"));
    tokens.push(itemTokens);
    if (cut) {
      incomplete = true;
      break;
    }
  }
  const outputTokens = reasoningTokens + output.reduce((sum, item, index) => sum + (item.type === "reasoning" ? 0 : (tokens[index]?.length ?? 0)), 0);

  let failure: StreamFailure | undefined;
  if (plan.failure === "context_length_exceeded") failure = { kind: "failed", code: "context_length_exceeded", message: CONTEXT_LENGTH_EXCEEDED_MESSAGE };
  if (plan.failure === "server_error") failure = { kind: "error", code: "server_error", message: SERVER_ERROR_MESSAGE, afterTokens: Math.min(3, tokens.at(-1)?.length ?? 0) };

  const requestedTier = body.service_tier ?? "auto";
  const response: ResponseObject = {
    id: newId("resp"),
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    completed_at: null,
    status: failure?.kind === "failed" ? "failed" : incomplete ? "incomplete" : "completed",
    background: false,
    error: failure?.kind === "failed" ? { code: failure.code, message: failure.message } : null,
    incomplete_details: incomplete && failure === undefined ? { reason: "max_output_tokens" } : null,
    instructions,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    model: body.model,
    output: failure?.kind === "failed" ? [] : output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: previousId,
    prompt_cache_key: body.prompt_cache_key ?? null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null },
    safety_identifier: body.safety_identifier ?? null,
    // As OpenAI does: "auto" (or "default") is served by the default tier, and says so once done.
    service_tier: requestedTier === "auto" ? "default" : requestedTier,
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: { type: "text" }, verbosity: "medium" },
    tool_choice: body.tool_choice ?? "auto",
    tools,
    top_p: body.top_p ?? 1,
    truncation,
    usage:
      failure?.kind === "failed"
        ? null
        : {
            input_tokens: inputTokens,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: outputTokens,
            output_tokens_details: { reasoning_tokens: reasoningTokens },
            total_tokens: inputTokens + outputTokens,
          },
  };
  return { response, tokens, input, requestedTier, ...(failure === undefined ? {} : { failure }) };
}

/**
 * The conversation within the context window. Over it, a request is refused with
 * context_length_exceeded, unless it asked for truncation "auto": then the oldest items before
 * the current turn are dropped (a call's output with its call) until it fits, as OpenAI does.
 */
function fitContext(conversation: ConversationItem[], instructionTokens: number, contextTokens: number | null, truncation: "auto" | "disabled"): ConversationItem[] {
  if (contextTokens === null) return conversation;
  const size = (items: ConversationItem[]) => instructionTokens + items.reduce((sum, item) => sum + countTokens(itemText(item)), 0);
  if (size(conversation) <= contextTokens) return conversation;
  if (truncation !== "auto") throw contextLengthExceeded();
  let items = conversation;
  const turnStart = currentTurn(conversation).start;
  let dropped = 0;
  while (dropped < turnStart && size(items) > contextTokens) {
    items = items.slice(1);
    dropped++;
    // An output whose call was dropped answers nothing: it goes too.
    while (dropped < turnStart && items[0]?.kind === "function_call_output") {
      items = items.slice(1);
      dropped++;
    }
  }
  if (size(items) > contextTokens) throw contextLengthExceeded();
  return items;
}

function plannedTokens(planned: PlannedItem, cutHalfway: boolean): string[] {
  switch (planned.kind) {
    case "function_call": {
      // Cut by characters: a strict prefix of a JSON object never parses, as a cut call's arguments do not.
      const args = cutHalfway ? planned.arguments.slice(0, Math.max(1, Math.floor(planned.arguments.length / 2))) : planned.arguments;
      return tokenize(args);
    }
    case "reasoning":
      return tokenize(planned.summary);
    default: {
      const all = tokenize(planned.text);
      return cutHalfway ? all.slice(0, Math.max(1, Math.floor(all.length / 2))) : all;
    }
  }
}

function outputItem(planned: PlannedItem, payload: string, status: "completed" | "incomplete"): OutputItem {
  switch (planned.kind) {
    case "function_call":
      return { type: "function_call", id: newId("fc"), call_id: newId("call"), name: planned.name, arguments: payload, status };
    case "reasoning":
      return { type: "reasoning", id: newId("rs"), summary: payload === "" ? [] : [{ type: "summary_text", text: payload }], encrypted_content: null, status };
    case "refusal":
      return { type: "message", id: newId("msg"), role: "assistant", status, content: [{ type: "refusal", refusal: payload }] };
    case "text":
      return {
        type: "message",
        id: newId("msg"),
        role: "assistant",
        status,
        content: [{ type: "output_text", text: payload, annotations: [], logprobs: [] }],
        ...(planned.phase === undefined ? {} : { phase: planned.phase }),
      };
  }
}

function itemText(item: ConversationItem): string {
  switch (item.kind) {
    case "message":
      return item.text;
    case "function_call":
      return `${item.name} ${item.arguments}`;
    case "function_call_output":
      return item.output;
  }
}

/** How long the model "thinks": the first token after firstTokenMs, each next tokenMs later. */
export function generationMs(tokenCount: number, timing: { firstTokenMs: number; tokenMs: number }): number {
  return tokenCount === 0 ? 0 : timing.firstTokenMs + (tokenCount - 1) * timing.tokenMs;
}

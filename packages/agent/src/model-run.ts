import type OpenAI from "openai";
import type { Response, ResponseFunctionToolCall, ResponseInputItem, ResponseOutputItem } from "openai/resources/responses/responses";
import type { HistoryEntry } from "./conversation-memory.ts";
import { rejectsChainedResponse, toModelCallError } from "./model-errors.ts";
import { estimateTokens, type ModelLease, type ModelLimiter } from "./model-limiter.ts";
import { readResponseStream } from "./model-stream.ts";
import { afterRequestWritten } from "./openai-client.ts";
import { recordModelLimitWait } from "./run-metrics.ts";
import type { ToolRegistry } from "./tools/index.ts";
import { ModelCallError } from "./turn-errors.ts";

export interface ModelConfig {
  model: string;
  instructions: string;
  maxOutputTokens: number;
  /** Bound on model calls in one turn (each tool round is one). */
  maxSteps: number;
  /** Bound, in characters, on the history sent when the context is rebuilt from it. */
  historyChars: number;
}

export interface ModelRunInput {
  userMessage: string;
  previousResponseId: string | undefined;
  /** Called for the context when there is no usable previous_response_id. */
  loadHistory: () => Promise<HistoryEntry[]>;
  /** The answer's text as it streams; separate text items arrive separated by a blank line. */
  onText: (delta: string) => void;
  onToolCall: (call: ResponseFunctionToolCall) => Promise<string>;
  /** What the model says about its work rather than to answer: commentary, reasoning summaries. */
  onActivity?: (note: { kind: "commentary" | "reasoning"; text: string }) => Promise<void> | void;
  /** OpenAI's prompt cache key: the session, whose turns share their prefix. */
  promptCacheKey?: string;
  /** OpenAI's safety_identifier: a hash of the user, never the user id itself. */
  safetyIdentifier?: string;
  signal?: AbortSignal;
  /** The model's shared rate limit: each call waits for its share before it is sent. */
  limiter?: ModelLimiter;
  /**
   * A share taken ahead, beside the turn's start (firstCallEstimate): the first call uses it
   * when it covers the call's estimate, else releases it and waits for its own.
   */
  leaseAhead?: Promise<ModelLease | undefined>;
  /** Called when a call is held back by the limiter, with how long it expects to wait. */
  onLimitWait?: (waitMs: number) => Promise<void> | void;
  /** Called once each call's request has been written (afterRequestWritten): what need not delay the request can start then. */
  onRequest?: () => void;
}

export interface ModelRunResult {
  responseId: string;
  usage: { inputTokens: number; outputTokens: number };
  toolCalls: string[];
  /** Why the reply was cut off (`max_output_tokens`, `content_filter`), when it was. */
  incomplete: string | undefined;
  /** The reply is the model's refusal. */
  refusal: boolean;
  /** The chained previous_response_id was rejected (or the context too long) and the context rebuilt from history. */
  rebuiltContext: boolean;
  /**
   * Whether the next turn may chain on responseId. Not when the response was cut off holding a
   * function call: no output will ever answer it, and OpenAI refuses a chain with an unanswered
   * call ("No tool output found for function call …"), so the next turn rebuilds from history.
   */
  chainable: boolean;
}

/**
 * One turn of the function-calling loop on the Responses API, streamed: answer text goes to
 * onText as it arrives, commentary and reasoning summaries to onActivity, each function call to
 * onToolCall, until the model answers without calling a tool, the response is cut off, or the
 * step bound is reached. Failures leave as ModelCallError (model-errors.ts), classified once.
 */
export async function runModel(openai: OpenAI, tools: ToolRegistry, config: ModelConfig, input: ModelRunInput): Promise<ModelRunResult> {
  const usage = { inputTokens: 0, outputTokens: 0 };
  const toolCalls: string[] = [];
  let previous = input.previousResponseId;
  let rebuiltContext = false;
  let refusal = false;
  const fromHistory = async () => [...historyItems(await input.loadHistory(), config.historyChars), userItem(input.userMessage)];
  let next: ResponseInputItem[] = previous ? [userItem(input.userMessage)] : await fromHistory();

  // Text items are kept apart: a blank line between two of them, never "…links.The model…".
  let answered = false;
  let currentItem: string | undefined;
  const onAnswerText = (delta: string, part: { itemId: string; refusal: boolean }) => {
    if (part.refusal) refusal = true;
    if (part.itemId !== currentItem) {
      if (answered) input.onText("\n\n");
      currentItem = part.itemId;
    }
    answered = true;
    input.onText(delta);
  };
  // Activity is shown as it comes and awaited once the response is read; a failed post fails
  // the turn then (caught here too, so a stream that fails first leaves no unhandled rejection).
  const activity: Promise<void>[] = [];
  const note = (kind: "commentary" | "reasoning", text: string) => {
    const shown = Promise.resolve().then(() => input.onActivity?.({ kind, text }));
    shown.catch(() => undefined);
    activity.push(shown);
  };
  const sinks = { onAnswerText, onCommentary: (text: string) => note("commentary", text), onReasoningSummary: (text: string) => note("reasoning", text) };
  let ahead = input.leaseAhead;
  const request = () => {
    const lease = ahead;
    ahead = undefined;
    return streamOnce(openai, tools, config, next, previous, input, sinks, lease);
  };

  for (let step = 0; step < config.maxSteps; step++) {
    let response: Response;
    let done: ResponseOutputItem[];
    try {
      ({ response, done } = await request());
    } catch (error) {
      // OpenAI lost, expired or refused the chained conversation, or it grew past the model's
      // window: drop previous_response_id and carry on from our own (capped) history, once.
      if (!(error instanceof ModelCallError) || previous === undefined || rebuiltContext || !(error.kind === "context-too-long" || rejectsChainedResponse(error))) throw error;
      previous = undefined;
      rebuiltContext = true;
      next = await fromHistory();
      ({ response, done } = await request());
    }
    await Promise.all(activity.splice(0));
    usage.inputTokens += response.usage?.input_tokens ?? 0;
    usage.outputTokens += response.usage?.output_tokens ?? 0;
    const result = { responseId: response.id, usage, toolCalls, refusal, rebuiltContext };
    const output = response.output?.length ? response.output : done;
    // A cut-off response ends the turn: its function calls may be cut mid-arguments, and a call
    // answered without the others would leave the chained response waiting for their outputs.
    if (response.status === "incomplete") {
      const chainable = !output.some((item) => item.type === "function_call");
      return { ...result, chainable, incomplete: response.incomplete_details?.reason ?? "unknown" };
    }
    const calls = output.filter((item): item is ResponseFunctionToolCall => item.type === "function_call" && item.status !== "incomplete");
    if (calls.length === 0) return { ...result, chainable: true, incomplete: undefined };
    next = [];
    for (const call of calls) {
      toolCalls.push(call.name);
      next.push({ type: "function_call_output", call_id: call.call_id, output: await input.onToolCall(call) });
    }
    previous = response.id;
  }
  // Final, not retried: the same conversation would loop the same way, paid for again each time.
  throw new ModelCallError("too-many-steps", { message: `the model was still calling tools after ${config.maxSteps} steps` });
}

async function streamOnce(
  openai: OpenAI,
  tools: ToolRegistry,
  config: ModelConfig,
  input: ResponseInputItem[],
  previousResponseId: string | undefined,
  run: ModelRunInput,
  sinks: Parameters<typeof readResponseStream>[1],
  ahead: Promise<ModelLease | undefined> | undefined,
) {
  const estimate = estimateTokens(input, config.maxOutputTokens);
  const lease = (await covering(ahead, estimate)) ?? (await run.limiter?.acquire(config.model, estimate, { onWait: run.onLimitWait, signal: run.signal }));
  if (lease) recordModelLimitWait(lease.waitedMs);
  let used: number | undefined;
  try {
    const request = openai.responses.create(
      {
        model: config.model,
        // Neither instructions nor tools are inherited through previous_response_id: send both every time.
        instructions: config.instructions,
        tools: tools.definitions(),
        input,
        previous_response_id: previousResponseId,
        store: true,
        // A long chain is trimmed by OpenAI rather than refused with context_length_exceeded.
        truncation: "auto",
        max_output_tokens: config.maxOutputTokens,
        prompt_cache_key: run.promptCacheKey,
        safety_identifier: run.safetyIdentifier,
        stream: true,
      },
      { signal: run.signal },
    ).withResponse();
    if (run.onRequest) afterRequestWritten(run.onRequest);
    const { data: stream, response: http } = await request;
    lease?.observe(http.headers);
    const streamed = await readResponseStream(stream, sinks);
    used = (streamed.response.usage?.input_tokens ?? 0) + (streamed.response.usage?.output_tokens ?? 0);
    return streamed;
  } catch (error) {
    // A 429 carries OpenAI's view of the limit too.
    const headers = (error as { headers?: unknown }).headers;
    if (lease && headers instanceof Headers) lease.observe(headers);
    throw toModelCallError(error);
  } finally {
    // Without usage (a failed call) the estimate stays spent: OpenAI may have counted it.
    await lease?.release(used).catch(() => undefined);
  }
}

/**
 * What the limiter is asked for ahead of a turn's first call: the call chained on
 * previous_response_id, the user's message alone. A first call from history may need more.
 */
export function firstCallEstimate(config: ModelConfig, userMessage: string): number {
  return estimateTokens([userItem(userMessage)], config.maxOutputTokens);
}

/** The share taken ahead, if it covers the call; one too small is released unused. */
async function covering(ahead: Promise<ModelLease | undefined> | undefined, estimate: number): Promise<ModelLease | undefined> {
  const lease = await ahead;
  if (!lease || lease.estimate >= estimate) return lease;
  await lease.release(0).catch(() => undefined);
  return undefined;
}

function userItem(text: string): ResponseInputItem {
  return { role: "user", content: text };
}

/** The newest entries of the history whose text fits in `maxChars`, oldest first. */
export function historyItems(history: HistoryEntry[], maxChars: number): ResponseInputItem[] {
  const kept: HistoryEntry[] = [];
  let chars = 0;
  for (const entry of history.toReversed()) {
    chars += entry.message.length;
    if (chars > maxChars) break;
    kept.push(entry);
  }
  return kept.reverse().map((entry) => ({ role: entry.role === "USER" ? ("user" as const) : ("assistant" as const), content: entry.message }));
}

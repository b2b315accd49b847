import OpenAI from "openai";
import type { Response, ResponseInputItem, ResponseFunctionToolCall } from "openai/resources/responses/responses";
import type { HistoryEntry } from "./history.ts";
import type { ToolRegistry } from "./tools/index.ts";

export interface ModelConfig {
  model: string;
  instructions: string;
  maxOutputTokens: number;
  /** Bound on model calls in one turn (each tool round is one). */
  maxSteps: number;
}

export interface ModelRunInput {
  userMessage: string;
  previousResponseId: string | undefined;
  /** Called for the context when there is no usable previous_response_id. */
  loadHistory: () => Promise<HistoryEntry[]>;
  onText: (delta: string) => void;
  onToolCall: (call: ResponseFunctionToolCall) => Promise<string>;
  signal?: AbortSignal;
}

export interface ModelRunResult {
  responseId: string;
  usage: { inputTokens: number; outputTokens: number };
  toolCalls: string[];
  /** The reply was cut at max_output_tokens. */
  truncated: boolean;
  /** The stored previous_response_id was rejected and the context rebuilt from history. */
  rebuiltContext: boolean;
}

export class ModelError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ModelError";
  }
}

/**
 * One turn of the function-calling loop on the Responses API, streamed: text goes to
 * onText as it arrives, each function call to onToolCall, until the model answers
 * without calling a tool or the step bound is reached.
 */
export async function runModel(openai: OpenAI, tools: ToolRegistry, config: ModelConfig, input: ModelRunInput): Promise<ModelRunResult> {
  const usage = { inputTokens: 0, outputTokens: 0 };
  const toolCalls: string[] = [];
  let previous = input.previousResponseId;
  let rebuiltContext = false;
  let next: ResponseInputItem[] = previous
    ? [userItem(input.userMessage)]
    : [...historyItems(await input.loadHistory()), userItem(input.userMessage)];

  for (let step = 0; step < config.maxSteps; step++) {
    let response: Response;
    try {
      response = await streamOnce(openai, tools, config, next, previous, input);
    } catch (error) {
      // OpenAI lost or expired the stored conversation: carry on from our own history.
      if (step === 0 && previous && isPreviousResponseNotFound(error)) {
        previous = undefined;
        rebuiltContext = true;
        next = [...historyItems(await input.loadHistory()), userItem(input.userMessage)];
        response = await streamOnce(openai, tools, config, next, previous, input);
      } else {
        throw error;
      }
    }
    usage.inputTokens += response.usage?.input_tokens ?? 0;
    usage.outputTokens += response.usage?.output_tokens ?? 0;
    const calls = response.output.filter((item): item is ResponseFunctionToolCall => item.type === "function_call");
    if (calls.length === 0) {
      return { responseId: response.id, usage, toolCalls, truncated: response.status === "incomplete", rebuiltContext };
    }
    next = [];
    for (const call of calls) {
      toolCalls.push(call.name);
      next.push({ type: "function_call_output", call_id: call.call_id, output: await input.onToolCall(call) });
    }
    previous = response.id;
  }
  throw new ModelError(`the model was still calling tools after ${config.maxSteps} steps`);
}

async function streamOnce(
  openai: OpenAI,
  tools: ToolRegistry,
  config: ModelConfig,
  input: ResponseInputItem[],
  previousResponseId: string | undefined,
  run: ModelRunInput,
): Promise<Response> {
  const stream = await openai.responses.create(
    {
      model: config.model,
      // Neither instructions nor tools are inherited through previous_response_id: send both every time.
      instructions: config.instructions,
      tools: tools.definitions(),
      input,
      previous_response_id: previousResponseId,
      store: true,
      max_output_tokens: config.maxOutputTokens,
      stream: true,
    },
    { signal: run.signal },
  );
  for await (const event of stream) {
    switch (event.type) {
      case "response.output_text.delta":
        run.onText(event.delta);
        break;
      case "response.completed":
      case "response.incomplete":
        return event.response;
      case "response.failed":
        throw new ModelError(`the model failed: ${event.response.error?.message ?? "no reason given"}`);
      case "error":
        throw new ModelError(`the model stream failed: ${event.message}`);
    }
  }
  throw new ModelError("the model's stream ended without a final response");
}

function isPreviousResponseNotFound(error: unknown): boolean {
  return error instanceof OpenAI.APIError && (error.code === "previous_response_not_found" || error.status === 404);
}

function userItem(text: string): ResponseInputItem {
  return { role: "user", content: text };
}

function historyItems(history: HistoryEntry[]): ResponseInputItem[] {
  return history.map((entry) => ({ role: entry.role === "USER" ? ("user" as const) : ("assistant" as const), content: entry.message }));
}

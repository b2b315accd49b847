/**
 * One POST /v1/responses, decided in full before anything is sent: the conversation (the
 * stored chain plus this input), the reply, the output items, truncation and usage. The
 * server then only paces it out (streamed or not).
 */
import { randomBytes } from "node:crypto";
import { assertCallsAnswered, currentTurn, fromInput, type ConversationItem } from "./conversation.ts";
import { decideReply, type Reply } from "./responder.ts";
import type { ResponseStore } from "./store.ts";
import { countTokens, tokenize } from "./tokens.ts";
import type { CreateResponseBody, OutputItem, ResponseObject } from "./wire.ts";

export interface Generation {
  /** The finished response, as response.completed (or response.incomplete) carries it. */
  response: ResponseObject;
  /** Per output item, the tokens in which its text or arguments are streamed. */
  tokens: string[][];
  /** This request's own input, stored with the response for later chaining. */
  input: ConversationItem[];
}

export function newId(prefix: "resp" | "msg" | "fc" | "call"): string {
  return `${prefix}_${randomBytes(16).toString("hex")}`;
}

export function generateResponse(body: CreateResponseBody, store: ResponseStore): Generation {
  const previousId = body.previous_response_id ?? null;
  const input = fromInput(body.input);
  const conversation = [...(previousId === null ? [] : store.conversationThrough(previousId)), ...input];
  assertCallsAnswered(conversation);

  const tools = body.tools ?? [];
  // tool_choice "none" forbids calls; every other choice lets the model pick, as it would.
  const offered = new Set(body.tool_choice === "none" ? [] : tools.flatMap((tool) => (tool.type === "function" && typeof tool.name === "string" ? [tool.name] : [])));
  const reply = decideReply(currentTurn(conversation), offered);

  const full = tokenize(replyPayload(reply));
  const limit = body.max_output_tokens ?? Number.POSITIVE_INFINITY;
  const tokens = full.slice(0, limit);
  const truncated = tokens.length < full.length;
  const item = outputItem(reply, tokens.join(""), truncated ? "incomplete" : "completed");

  const instructions = body.instructions ?? null;
  const inputTokens =
    (instructions === null ? 0 : countTokens(instructions)) + conversation.reduce((sum, entry) => sum + countTokens(itemText(entry)), 0);
  const response: ResponseObject = {
    id: newId("resp"),
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    completed_at: null,
    status: truncated ? "incomplete" : "completed",
    background: false,
    error: null,
    incomplete_details: truncated ? { reason: "max_output_tokens" } : null,
    instructions,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    model: body.model,
    output: [item],
    output_text: item.type === "message" ? item.content.map((part) => part.text).join("") : "",
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: previousId,
    reasoning: { effort: null, summary: null },
    service_tier: "default",
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools,
    top_p: body.top_p ?? 1,
    truncation: "disabled",
    usage: {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: tokens.length,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: inputTokens + tokens.length,
    },
  };
  return { response, tokens: [tokens], input };
}

function replyPayload(reply: Reply): string {
  return reply.kind === "text" ? reply.text : reply.arguments;
}

function outputItem(reply: Reply, payload: string, status: "completed" | "incomplete"): OutputItem {
  if (reply.kind === "function_call") {
    return { type: "function_call", id: newId("fc"), call_id: newId("call"), name: reply.name, arguments: payload, status };
  }
  return {
    type: "message",
    id: newId("msg"),
    role: "assistant",
    status,
    content: [{ type: "output_text", text: payload, annotations: [], logprobs: [] }],
  };
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

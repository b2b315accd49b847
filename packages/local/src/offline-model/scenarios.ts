/**
 * The cases of OpenAI's Responses API beyond "one text message": each can be asked for through
 * POST /dev/model (`{"scenario": "refusal"}`, sticky or for the next `faultRequests` requests) or
 * by writing `[[refusal]]` in the user message (that turn only). Each mirrors a transcript of
 * test/fixtures/openai-responses, so the agent meets locally what OpenAI sends.
 */
import type { Turn } from "./conversation.ts";
import { type ApiError, contextLengthExceeded, insufficientQuota, modelNotFound, rateLimited, requestTooLarge, serverError, tokensPerMinuteExceeded } from "./errors.ts";
import { PLAN_TOOL, TIME_TOOL, decideReply, planCall, replyText, timeCall, type Reply } from "./responder.ts";
import { containsJapanese } from "./tokens.ts";

export const SCENARIOS = [
  "refusal",
  "reasoning-max-output-tokens",
  "incomplete-mid-text",
  "incomplete-mid-function-call",
  "parallel-tool-calls",
  "preamble",
  "unknown-tool-call",
  "context-length-exceeded",
  "context-length-exceeded-stream",
  "insufficient-quota",
  "rate-limit-exceeded",
  "model-not-found",
  "request-too-large",
  "request-too-large-tokens",
  "stream-error",
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** The tool the "unknown-tool-call" scenario calls: one no agent offers. */
export const UNKNOWN_TOOL = "search_web";

const keyword = /\[\[([a-z-]+)\]\]/;

/** A scenario named as `[[name]]` in the message, or null. */
export function scenarioInMessage(text: string): Scenario | null {
  const name = keyword.exec(text)?.[1];
  return (SCENARIOS as readonly string[]).includes(name ?? "") ? (name as Scenario) : null;
}

/**
 * The HTTP error a scenario answers with before anything is streamed, if it is one of those.
 * The two in-stream failures answer so too when the request is not streamed, as OpenAI does.
 */
export function scenarioError(scenario: Scenario, model: string, streamed: boolean, retryAfterSeconds: number): ApiError | undefined {
  switch (scenario) {
    case "context-length-exceeded":
      return contextLengthExceeded();
    case "context-length-exceeded-stream":
      return streamed ? undefined : contextLengthExceeded();
    case "stream-error":
      return streamed ? undefined : serverError();
    case "insufficient-quota":
      return insufficientQuota();
    case "rate-limit-exceeded":
      return rateLimited(retryAfterSeconds);
    case "model-not-found":
      return modelNotFound(model);
    case "request-too-large":
      return requestTooLarge();
    case "request-too-large-tokens":
      return tokensPerMinuteExceeded(model);
    default:
      return undefined;
  }
}

export type PlannedItem =
  | { kind: "text"; text: string; phase?: "commentary" | "final_answer" }
  | { kind: "refusal"; text: string }
  | { kind: "function_call"; name: string; arguments: string }
  | { kind: "reasoning"; summary: string };

/** What one response holds, before max_output_tokens is applied. */
export interface Plan {
  items: PlannedItem[];
  /** The last item is cut halfway and the response ends incomplete (max_output_tokens). */
  cutLast?: boolean;
  /** A reasoning model spent this many output tokens thinking (all of max_output_tokens when cut). */
  reasoningTokens?: number;
  /** How the stream ends instead of response.completed: response.failed, or an `error` event mid-item. */
  failure?: "context_length_exceeded" | "server_error";
}

function fromReply(reply: Reply): PlannedItem {
  return reply.kind === "text" ? { kind: "text", text: reply.text } : { kind: "function_call", name: reply.name, arguments: reply.arguments };
}

/** What the model answers this turn with, under `scenario` (null: the plain behaviour). */
export function planResponse(scenario: Scenario | null, turn: Turn, offered: ReadonlySet<string>, maxOutputTokens: number | undefined): Plan {
  const japanese = containsJapanese(turn.userText);
  const called = new Set(turn.calls.map((call) => call.name));
  const plain = decideReply(turn, offered);
  switch (scenario) {
    case "refusal":
      return { items: [{ kind: "refusal", text: japanese ? "申し訳ありませんが、そのご依頼にはお応えできません。" : "I'm sorry, but I can't help with that." }] };
    case "reasoning-max-output-tokens": {
      const summary = japanese ? `**依頼を検討中**\n\n「${turn.userText}」への答え方を比べています…` : `**Weighing the request**\n\nComparing ways to answer "${turn.userText}"…`;
      // OpenAI's lowest budget that a reasoning model can spend entirely on thinking.
      return { items: [{ kind: "reasoning", summary }], cutLast: true, reasoningTokens: maxOutputTokens ?? 256 };
    }
    case "incomplete-mid-text":
      return { items: [{ kind: "text", text: replyText(turn) }], cutLast: true };
    case "incomplete-mid-function-call": {
      const reply = plain.kind === "function_call" ? plain : forcedCall(turn, offered, new Set());
      return { items: [fromReply(reply ?? plain)], cutLast: true };
    }
    case "parallel-tool-calls": {
      const calls: PlannedItem[] = [];
      if (offered.has(PLAN_TOOL) && !called.has(PLAN_TOOL)) calls.push(fromReply(planCall(turn.userText, offered.has(TIME_TOOL))));
      if (offered.has(TIME_TOOL) && !called.has(TIME_TOOL)) calls.push(fromReply(timeCall(japanese)));
      // As in the transcript: once both have answered, the answer (the plan is not updated).
      return { items: calls.length > 0 ? calls : [{ kind: "text", text: replyText(turn) }] };
    }
    case "preamble": {
      // A preamble comes before the turn's first call; once a tool has answered, the answer is final.
      const call = plain.kind === "function_call" ? plain : turn.calls.length === 0 ? forcedCall(turn, offered, called) : undefined;
      if (call === undefined) return { items: [{ kind: "text", text: replyText(turn), phase: "final_answer" }] };
      const preamble = call.name === PLAN_TOOL ? (japanese ? "まず計画を立てます。" : "Let me make a plan first.") : japanese ? "まず現在時刻を確認します。" : "Let me check the current time first.";
      // A reasoning model's first item: its thinking, summarised as nothing unless asked for.
      return { items: [{ kind: "reasoning", summary: "" }, { kind: "text", text: preamble, phase: "commentary" }, fromReply(call)] };
    }
    case "unknown-tool-call":
      if (called.has(UNKNOWN_TOOL)) return { items: [fromReply(plain)] };
      return { items: [{ kind: "function_call", name: UNKNOWN_TOOL, arguments: JSON.stringify({ query: turn.userText }) }] };
    case "context-length-exceeded-stream":
      return { items: [], failure: "context_length_exceeded" };
    case "stream-error":
      return { items: [{ kind: "text", text: replyText(turn) }], failure: "server_error" };
    default:
      return { items: [fromReply(plain)] };
  }
}

/** A call the scenario needs when the plain reply is text: the time, else the plan, if offered and not yet made. */
function forcedCall(turn: Turn, offered: ReadonlySet<string>, called: ReadonlySet<string>): (Reply & { kind: "function_call" }) | undefined {
  if (offered.has(TIME_TOOL) && !called.has(TIME_TOOL)) return timeCall(containsJapanese(turn.userText));
  if (offered.has(PLAN_TOOL) && !called.has(PLAN_TOOL)) return planCall(turn.userText, false);
  return undefined;
}

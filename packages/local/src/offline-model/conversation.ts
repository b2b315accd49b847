/**
 * The conversation as the model sees it: request input and stored output reduced to the
 * three kinds of item the offline model reasons about.
 */
import { invalidRequest } from "./errors.ts";
import type { ContentPart, InputItem, OutputItem } from "./wire.ts";

export type ConversationItem =
  | { kind: "message"; role: "user" | "assistant" | "system" | "developer"; text: string }
  | { kind: "function_call"; callId: string; name: string; arguments: string }
  | { kind: "function_call_output"; callId: string; output: string };

function partsText(content: string | ContentPart[]): string {
  if (typeof content === "string") return content;
  const texts: string[] = [];
  for (const part of content) {
    if (part.type === "input_text" || part.type === "output_text") texts.push(part.text);
    else if (part.type === "refusal") texts.push(part.refusal);
  }
  return texts.join("\n");
}

export function fromInput(input: string | InputItem[] | undefined): ConversationItem[] {
  if (input === undefined) return [];
  if (typeof input === "string") return [{ kind: "message", role: "user", text: input }];
  return input.flatMap((item): ConversationItem[] => {
    switch (item.type) {
      case "function_call":
        return [{ kind: "function_call", callId: item.call_id, name: item.name, arguments: item.arguments }];
      case "function_call_output":
        return [{ kind: "function_call_output", callId: item.call_id, output: partsText(item.output) }];
      case "reasoning":
        return [];
      default:
        return [{ kind: "message", role: item.role, text: partsText(item.content) }];
    }
  });
}

export function fromOutput(output: OutputItem[]): ConversationItem[] {
  return output.flatMap((item): ConversationItem[] => {
    switch (item.type) {
      case "function_call":
        return [{ kind: "function_call", callId: item.call_id, name: item.name, arguments: item.arguments }];
      case "reasoning":
        return [];
      case "message":
        return [{ kind: "message", role: "assistant", text: item.content.map((part) => (part.type === "refusal" ? part.refusal : part.text)).join("") }];
    }
  });
}

/** What happened since the latest user message: the turn the model is answering. */
export interface Turn {
  userText: string;
  /** Where the turn's user message is in the conversation: what came before is older context. */
  start: number;
  /** Tool calls made in this turn, in order, with their outputs once given. */
  calls: { name: string; arguments: string; output: string | undefined }[];
}

export function currentTurn(items: ConversationItem[]): Turn {
  let start = -1;
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (item?.kind === "message" && item.role === "user") {
      start = i;
      break;
    }
  }
  const user = items[start];
  if (user?.kind !== "message") {
    throw invalidRequest("The conversation has no user message for the offline model to answer.", "input");
  }
  const outputs = new Map<string, string>();
  for (const item of items.slice(start)) if (item.kind === "function_call_output") outputs.set(item.callId, item.output);
  const calls: Turn["calls"] = [];
  for (const item of items.slice(start)) {
    if (item.kind === "function_call") calls.push({ name: item.name, arguments: item.arguments, output: outputs.get(item.callId) });
  }
  return { userText: user.text, start, calls };
}

/**
 * OpenAI refuses a conversation in which a function call has no output, or an output answers
 * no call; so does the offline model, so that an agent that forgets one fails locally too.
 */
export function assertCallsAnswered(items: ConversationItem[]): void {
  const calls = new Set<string>();
  const answered = new Set<string>();
  for (const item of items) {
    if (item.kind === "function_call") calls.add(item.callId);
    if (item.kind === "function_call_output") {
      if (!calls.has(item.callId)) {
        throw invalidRequest(`No tool call found for function call output with call_id ${item.callId}.`, "input");
      }
      answered.add(item.callId);
    }
  }
  for (const callId of calls) {
    if (!answered.has(callId)) throw invalidRequest(`No tool output found for function call ${callId}.`, "input");
  }
}

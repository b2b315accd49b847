/**
 * Paces a decided response out as the Responses API's server-sent events: lifecycle events,
 * then per output item its added/delta/done events, one token per delta, the first after
 * firstTokenMs and each next tokenMs later. A client that goes away ends the stream quietly.
 */
import type { ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Generation } from "./generate.ts";
import type { OutputItem, ResponseObject } from "./wire.ts";

export interface Timing {
  firstTokenMs: number;
  tokenMs: number;
}

/** Waits before each token; returns false once the client has gone. */
export function tokenClock(timing: Timing, signal: AbortSignal): () => Promise<boolean> {
  let first = true;
  return async () => {
    const ms = first ? timing.firstTokenMs : timing.tokenMs;
    first = false;
    if (ms > 0) await sleep(ms, undefined, { signal }).catch(() => undefined);
    return !signal.aborted;
  };
}

export async function streamGeneration(
  res: ServerResponse,
  generation: Generation,
  timing: Timing,
  signal: AbortSignal,
  requestId: string,
  /** Called just before the final event, so the response is stored before a client can chain on it. */
  finish: () => void,
): Promise<void> {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-request-id": requestId,
  });
  let sequence = 0;
  const send = (event: { type: string } & Record<string, unknown>): boolean => {
    if (signal.aborted || res.destroyed) return false;
    // Written even when the socket's buffer is full: a reply is a few KB, so no backpressure.
    res.write(`event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: sequence++ })}\n\n`);
    return true;
  };
  const final = generation.response;
  const inProgress: ResponseObject = {
    ...final,
    status: "in_progress",
    incomplete_details: null,
    output: [],
    output_text: "",
    usage: null,
    completed_at: null,
  };
  send({ type: "response.created", response: inProgress });
  send({ type: "response.in_progress", response: inProgress });

  const nextToken = tokenClock(timing, signal);
  for (const [outputIndex, item] of final.output.entries()) {
    const tokens = generation.tokens[outputIndex] ?? [];
    if (!send({ type: "response.output_item.added", output_index: outputIndex, item: startedItem(item) })) return;
    if (item.type === "message") {
      const itemId = item.id;
      const where = { item_id: itemId, output_index: outputIndex, content_index: 0 };
      const emptyPart = { type: "output_text", text: "", annotations: [], logprobs: [] };
      send({ type: "response.content_part.added", ...where, part: emptyPart });
      for (const delta of tokens) {
        if (!(await nextToken())) return;
        send({ type: "response.output_text.delta", ...where, delta, logprobs: [] });
      }
      const part = item.content[0] ?? emptyPart;
      send({ type: "response.output_text.done", ...where, text: part.text, logprobs: [] });
      send({ type: "response.content_part.done", ...where, part });
    } else {
      const where = { item_id: item.id, output_index: outputIndex };
      for (const delta of tokens) {
        if (!(await nextToken())) return;
        send({ type: "response.function_call_arguments.delta", ...where, delta });
      }
      send({ type: "response.function_call_arguments.done", ...where, arguments: item.arguments });
    }
    send({ type: "response.output_item.done", output_index: outputIndex, item });
  }
  finish();
  send({ type: final.status === "incomplete" ? "response.incomplete" : "response.completed", response: final });
  res.end();
}

/** An output item as response.output_item.added announces it: nothing generated yet. */
function startedItem(item: OutputItem): OutputItem {
  if (item.type === "message") return { ...item, status: "in_progress", content: [] };
  return { ...item, status: "in_progress", arguments: "" };
}

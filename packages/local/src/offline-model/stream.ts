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
    error: null,
    incomplete_details: null,
    output: [],
    usage: null,
    completed_at: null,
    service_tier: generation.requestedTier,
  };
  send({ type: "response.created", response: inProgress });
  send({ type: "response.in_progress", response: inProgress });

  const failure = generation.failure;
  if (failure?.kind === "failed") {
    send({ type: "response.failed", response: final });
    res.end();
    return;
  }

  const nextToken = tokenClock(timing, signal);
  for (const [outputIndex, item] of final.output.entries()) {
    const tokens = generation.tokens[outputIndex] ?? [];
    const last = outputIndex === final.output.length - 1;
    // An `error` event cuts the last item after its first few deltas: no done events, no final event.
    const errorAfter = failure?.kind === "error" && last ? failure.afterTokens : undefined;
    const deltas = async (event: (delta: string) => { type: string } & Record<string, unknown>): Promise<boolean> => {
      for (const [index, delta] of tokens.entries()) {
        if (index === errorAfter) return false;
        if (!(await nextToken())) return false;
        send(event(delta));
      }
      return errorAfter === undefined || errorAfter >= tokens.length;
    };
    if (!send({ type: "response.output_item.added", output_index: outputIndex, item: startedItem(item) })) return;
    let whole: boolean;
    if (item.type === "message") {
      const where = { item_id: item.id, output_index: outputIndex, content_index: 0 };
      const part = item.content[0] ?? { type: "output_text", text: "", annotations: [], logprobs: [] };
      if (part.type === "refusal") {
        send({ type: "response.content_part.added", ...where, part: { type: "refusal", refusal: "" } });
        whole = await deltas((delta) => ({ type: "response.refusal.delta", ...where, delta }));
        if (whole) send({ type: "response.refusal.done", ...where, refusal: part.refusal });
      } else {
        send({ type: "response.content_part.added", ...where, part: { type: "output_text", text: "", annotations: [], logprobs: [] } });
        whole = await deltas((delta) => ({ type: "response.output_text.delta", ...where, delta, logprobs: [] }));
        if (whole) send({ type: "response.output_text.done", ...where, text: part.text, logprobs: [] });
      }
      if (whole) send({ type: "response.content_part.done", ...where, part });
    } else if (item.type === "reasoning") {
      const where = { item_id: item.id, output_index: outputIndex, summary_index: 0 };
      const text = item.summary[0]?.text;
      // A reasoning item without a summary streams no summary part at all.
      whole = text === undefined;
      if (text !== undefined) {
        send({ type: "response.reasoning_summary_part.added", ...where, part: { type: "summary_text", text: "" } });
        whole = await deltas((delta) => ({ type: "response.reasoning_summary_text.delta", ...where, delta }));
      }
      if (whole && text !== undefined) {
        send({ type: "response.reasoning_summary_text.done", ...where, text });
        send({ type: "response.reasoning_summary_part.done", ...where, part: { type: "summary_text", text } });
      }
    } else {
      const where = { item_id: item.id, output_index: outputIndex };
      whole = await deltas((delta) => ({ type: "response.function_call_arguments.delta", ...where, delta }));
      // A call cut by max_output_tokens has no arguments.done: its arguments never finished.
      if (whole && item.status !== "incomplete") send({ type: "response.function_call_arguments.done", ...where, arguments: item.arguments });
    }
    if (!whole) break;
    send({ type: "response.output_item.done", output_index: outputIndex, item });
  }
  if (signal.aborted || res.destroyed) return;
  if (failure?.kind === "error") {
    send({ type: "error", code: failure.code, message: failure.message, param: null });
    res.end();
    return;
  }
  finish();
  send({ type: final.status === "incomplete" ? "response.incomplete" : "response.completed", response: final });
  res.end();
}

/** An output item as response.output_item.added announces it: nothing generated yet. */
function startedItem(item: OutputItem): OutputItem {
  switch (item.type) {
    case "message":
      return { ...item, status: "in_progress", content: [] };
    case "reasoning":
      return { ...item, status: "in_progress", summary: [] };
    case "function_call":
      return { ...item, status: "in_progress", arguments: "" };
  }
}

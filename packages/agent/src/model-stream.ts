import type { Stream } from "openai/core/streaming";
import type { Response, ResponseOutputItem, ResponseStreamEvent } from "openai/resources/responses/responses";
import { responseFailed } from "./model-errors.ts";
import { ModelCallError } from "./turn-errors.ts";

/** Where the text of one response goes, by the output item it belongs to. */
export interface StreamSinks {
  /** Text of the answer (output_text or refusal parts of a message that is not commentary). */
  onAnswerText: (delta: string, part: { itemId: string; refusal: boolean }) => void;
  /** A whole `phase: "commentary"` message (a preamble the model says before it calls tools). */
  onCommentary: (text: string) => void;
  /** A whole reasoning summary part. */
  onReasoningSummary: (text: string) => void;
}

export interface StreamedResponse {
  response: Response;
  /** The output items the stream finished (`output_item.done`), by output_index. */
  done: ResponseOutputItem[];
}

interface ItemState {
  type: ResponseOutputItem["type"];
  commentary: boolean;
  text: string;
}

/**
 * Reads one streamed response event by event, keeping output items apart by output_index: a
 * commentary message is held back and given whole, answer text and refusals are passed on as
 * they come, and the stream's end is its `response.completed` / `response.incomplete` (a
 * `response.failed` throws its error; an SSE `event: error` is thrown by the client itself,
 * before this loop sees it, and classified in model-errors.ts).
 */
export async function readResponseStream(stream: Stream<ResponseStreamEvent>, sinks: StreamSinks): Promise<StreamedResponse> {
  const items = new Map<number, ItemState>();
  const done: ResponseOutputItem[] = [];
  const itemAt = (index: number) => items.get(index) ?? { type: "message" as const, commentary: false, text: "" };
  for await (const event of stream) {
    switch (event.type) {
      case "response.output_item.added":
        items.set(event.output_index, { type: event.item.type, commentary: event.item.type === "message" && event.item.phase === "commentary", text: "" });
        break;
      case "response.output_text.delta":
      case "response.refusal.delta": {
        const item = itemAt(event.output_index);
        item.text += event.delta;
        items.set(event.output_index, item);
        if (!item.commentary) sinks.onAnswerText(event.delta, { itemId: event.item_id, refusal: event.type === "response.refusal.delta" });
        break;
      }
      case "response.reasoning_summary_text.done":
        if (event.text.trim()) sinks.onReasoningSummary(event.text);
        break;
      case "response.output_item.done": {
        done[event.output_index] = event.item;
        const item = items.get(event.output_index);
        if (item?.commentary && item.text.trim()) sinks.onCommentary(item.text);
        break;
      }
      case "response.completed":
      case "response.incomplete":
        return { response: event.response, done: done.filter(Boolean) };
      case "response.failed":
        throw responseFailed(event.response.error);
    }
  }
  throw new ModelCallError("stream-failed", { message: "the stream ended without response.completed, response.incomplete or response.failed" });
}

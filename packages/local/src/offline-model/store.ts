/**
 * Stored responses, in memory, for previous_response_id and GET /v1/responses/{id}. Bounded:
 * a long local run must not grow without limit, so the oldest response is dropped first.
 */
import { fromOutput, type ConversationItem } from "./conversation.ts";
import { previousResponseNotFound } from "./errors.ts";
import type { ResponseObject } from "./wire.ts";

interface StoredResponse {
  response: ResponseObject;
  /** The request's input, without what previous_response_id brought in. */
  input: ConversationItem[];
}

export class ResponseStore {
  readonly #responses = new Map<string, StoredResponse>();
  readonly #capacity: number;

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  save(response: ResponseObject, input: ConversationItem[]): void {
    this.#responses.set(response.id, { response, input });
    // A Map iterates in insertion order, so its first key is the oldest response.
    while (this.#responses.size > this.#capacity) {
      const oldest = this.#responses.keys().next().value;
      if (oldest === undefined) break;
      this.#responses.delete(oldest);
    }
  }

  get(id: string): ResponseObject | undefined {
    return this.#responses.get(id)?.response;
  }

  /**
   * The conversation up to and including response `id`: every earlier input and output of
   * its chain, oldest first. Throws OpenAI's previous_response_not_found for an unknown id.
   */
  conversationThrough(id: string): ConversationItem[] {
    if (!this.#responses.has(id)) throw previousResponseNotFound(id);
    const chain: StoredResponse[] = [];
    const seen = new Set<string>();
    let next: string | null = id;
    // A link dropped by the cap ends the chain there, as if the conversation began later.
    while (next !== null && !seen.has(next)) {
      seen.add(next);
      const stored = this.#responses.get(next);
      if (stored === undefined) break;
      chain.push(stored);
      next = stored.response.previous_response_id;
    }
    return chain.reverse().flatMap((stored) => [...stored.input, ...fromOutput(stored.response.output)]);
  }
}

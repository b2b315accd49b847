import OpenAI from "openai";
import { retryAfterMs } from "./model-errors.ts";

export interface OpenAiClientSettings {
  apiKey: string;
  /** OPENAI_BASE_URL: OpenAI itself when unset, or any endpoint that speaks the Responses API. */
  baseURL?: string;
  timeoutMs: number;
  /** The client's own retries (AZUCHI_OPENAI_MAX_RETRIES), inside one attempt of the job. */
  maxRetries: number;
}

/**
 * Longest wait the client may spend inside a turn on a 429: a longer retry-after is left to
 * the job's retry (consume-jobs.ts), which waits it out in the queue instead of holding the
 * session's lock and the Lambda.
 */
export const MAX_IN_TURN_RETRY_WAIT_MS = 10_000;

/**
 * The OpenAI client. Its own retries stay for what passes in seconds (a dropped connection, a
 * 5xx, a short 429) since they cost the user nothing; but it retries every 429 alike, so the
 * ones no retry mends now (insufficient_quota, "Request too large") or not within the turn (a
 * long retry-after) are marked `x-should-retry: false`, the header the client obeys, and go
 * straight to the one classification (model-errors.ts).
 */
export function createOpenAiClient(settings: OpenAiClientSettings): OpenAI {
  return new OpenAI({
    apiKey: settings.apiKey,
    baseURL: settings.baseURL,
    timeout: settings.timeoutMs,
    maxRetries: settings.maxRetries,
    fetch: async (url: string | URL | Request, init?: RequestInit) => markUnretriable(await fetch(url, init)),
  });
}

/**
 * Runs `work` once a request just made through the client has been written to its socket, so
 * work that need not come first (the turn's first AGENT_LOG) no longer competes with the
 * request for the thread. Node's fetch (undici) writes a request from a setImmediate of its own,
 * queued behind one made now: work queued from that one runs after the write.
 * test/agent/first-token-path.test.ts watches undici's `bodySent` to hold this true.
 */
export function afterRequestWritten(work: () => void): void {
  setImmediate(() => setImmediate(work));
}

async function markUnretriable(response: Response): Promise<Response> {
  if (response.status !== 429 || response.headers.has("x-should-retry")) return response;
  const wait = retryAfterMs(response.headers);
  let body: { error?: { code?: unknown; message?: unknown } } | undefined;
  try {
    body = (await response.clone().json()) as typeof body;
  } catch {
    body = undefined;
  }
  const hopeless = body?.error?.code === "insufficient_quota" || /^request too large/i.test(String(body?.error?.message ?? ""));
  if (!hopeless && !(wait !== undefined && wait > MAX_IN_TURN_RETRY_WAIT_MS)) return response;
  const headers = new Headers(response.headers);
  headers.set("x-should-retry", "false");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

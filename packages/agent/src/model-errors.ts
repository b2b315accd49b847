import OpenAI, { type APIError } from "openai";
import type { ResponseError } from "openai/resources/responses/responses";
import { ModelCallError, type ModelFailureKind } from "./turn-errors.ts";

/**
 * Every code a `response.failed` can carry (the SDK's ResponseError), so none falls through to a
 * retry: the request's own input or a policy is refused the same way every time.
 */
const KIND_OF_RESPONSE_FAILED: Record<ResponseError["code"], ModelFailureKind> = {
  server_error: "overloaded",
  rate_limit_exceeded: "rate-limited",
  vector_store_timeout: "overloaded",
  invalid_prompt: "rejected",
  data_residency_mismatch: "rejected",
  bio_policy: "rejected",
  misalignment_policy_violation: "rejected",
  invalid_image: "rejected",
  invalid_image_format: "rejected",
  invalid_base64_image: "rejected",
  invalid_image_url: "rejected",
  image_too_large: "rejected",
  image_too_small: "rejected",
  image_parse_error: "rejected",
  image_content_policy_violation: "rejected",
  invalid_image_mode: "rejected",
  image_file_too_large: "rejected",
  unsupported_image_media_type: "rejected",
  empty_image_file: "rejected",
  failed_to_download_image: "rejected",
  image_file_not_found: "rejected",
};

/** OpenAI's error codes that say what happened whatever the HTTP status (or none, in a stream). */
const KIND_OF_CODE: Record<string, ModelFailureKind> = {
  ...KIND_OF_RESPONSE_FAILED,
  insufficient_quota: "quota",
  model_not_found: "model-not-found",
  context_length_exceeded: "context-too-long",
  request_too_large: "too-large",
  string_above_max_length: "too-large",
};

/**
 * The one place an error from the OpenAI client (or from the stream's own `response.failed`)
 * becomes a ModelCallError with its kind; other errors (an abort, a bug) are returned as they are.
 */
export function toModelCallError(error: unknown): unknown {
  if (error instanceof ModelCallError || error instanceof OpenAI.APIUserAbortError) return error;
  if (error instanceof OpenAI.APIConnectionError) return new ModelCallError("unreachable", { message: error.message }, { cause: error });
  if (error instanceof SyntaxError) return new ModelCallError("stream-failed", { message: error.message }, { cause: error });
  if (!(error instanceof OpenAI.APIError)) return error;
  const detail = { code: stringOrUndefined(error.code), status: error.status, message: errorMessage(error), retryAfterMs: retryAfterMs(error.headers) };
  return new ModelCallError(kindOf(detail.status, detail.code, detail.message), detail, { cause: error });
}

/** A `response.failed` event: the response's own error, with no HTTP status (the stream had begun). */
export function responseFailed(error: { code?: string | null; message?: string } | null | undefined): ModelCallError {
  const code = error?.code ?? undefined;
  return new ModelCallError(kindOf(undefined, code, error?.message ?? ""), { code, message: error?.message ?? "response.failed without an error" });
}

/**
 * Whether the error is about the chained response (previous_response_id unknown, expired or
 * not found, or ending in a function call no output answered): then the context is rebuilt from
 * our own history. A 404 for the model is not one.
 */
export function rejectsChainedResponse(error: unknown): boolean {
  if (!(error instanceof ModelCallError) || !(error.cause instanceof OpenAI.APIError)) return false;
  const cause = error.cause;
  if (error.code === "previous_response_not_found" || cause.param === "previous_response_id") return true;
  // A session whose saved response was cut off mid-call (before turns stopped keeping such ids):
  // the chain can never be answered, only left.
  if (error.status === 400 && cause.param === "input" && /^no tool output found for function call/i.test(errorMessage(cause))) return true;
  return error.status === 404 && error.kind !== "model-not-found" && /previous[ _]response/i.test(errorMessage(cause));
}

function kindOf(status: number | undefined, code: string | undefined, message: string): ModelFailureKind {
  const byCode = code && Object.hasOwn(KIND_OF_CODE, code) ? KIND_OF_CODE[code] : undefined;
  // "Request too large for <model> … on tokens per min": a 429 that no wait will mend.
  if (/^request too large/i.test(message)) return "too-large";
  if (byCode) return byCode;
  if (status === undefined) return "stream-failed";
  if (status === 429) return "rate-limited";
  if (status === 413) return "too-large";
  if (status === 404 && /\bmodel\b/i.test(message) && !/previous[ _]response/i.test(message)) return "model-not-found";
  if (status === 408) return "unreachable";
  if (status === 409 || status >= 500) return "overloaded";
  return "rejected";
}

/** retry-after-ms, or retry-after in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get("retry-after-ms") ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const after = headers?.get("retry-after");
  if (!after) return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(after);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function errorMessage(error: APIError): string {
  const body = error.error as { message?: unknown } | undefined;
  return typeof body?.message === "string" ? body.message : error.message;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" && value ? value : undefined;
}

/** OpenAI's error body; the openai client reads `error` to build its typed error classes. */
export interface ApiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error the server answers with an HTTP status and OpenAI's error shape. */
export class ApiError extends Error {
  override name = "ApiError";
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  /** Headers the answer carries besides the JSON ones, e.g. Retry-After on a 429. */
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, details: { type?: string; param?: string | null; code?: string | null; headers?: Record<string, string> } = {}) {
    super(message);
    this.status = status;
    this.type = details.type ?? "invalid_request_error";
    this.param = details.param ?? null;
    this.code = details.code ?? null;
    this.headers = details.headers ?? {};
  }

  body(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export function invalidRequest(message: string, param: string | null = null, code: string | null = null): ApiError {
  return new ApiError(400, message, { param, code });
}

export function previousResponseNotFound(id: string): ApiError {
  return invalidRequest(`Previous response with id '${id}' not found.`, "previous_response_id", "previous_response_not_found");
}

export function responseNotFound(id: string): ApiError {
  return new ApiError(404, `No response found with id '${id}'.`, { param: "response_id", code: "response_not_found" });
}

export function unknownRoute(method: string, path: string): ApiError {
  return new ApiError(404, `Invalid URL (${method} ${path})`);
}

export function bodyTooLarge(limitBytes: number): ApiError {
  return new ApiError(413, `Request body too large: the limit is ${limitBytes} bytes.`, { code: "request_too_large" });
}

/** The "request-too-large" scenario: the 413 of a body over OpenAI's limit, whatever was sent. */
export function requestTooLarge(): ApiError {
  return new ApiError(413, "Request body too large. The maximum request body size is 50 MB.", { code: "request_too_large" });
}

/**
 * One request larger than the key's tokens-per-minute limit: a 429 like a rate limit, but
 * without Retry-After, since waiting never lets it through.
 */
export function tokensPerMinuteExceeded(model: string): ApiError {
  return new ApiError(
    429,
    `Request too large for ${model} in organization org-offline on tokens per min (TPM): Limit 30000, Requested 48211. The input or output tokens must be reduced in order to run successfully.`,
    { type: "tokens", code: "rate_limit_exceeded", headers: { "x-ratelimit-limit-tokens": "30000", "x-ratelimit-remaining-tokens": "30000", "x-ratelimit-reset-tokens": "0s" } },
  );
}

export const CONTEXT_LENGTH_EXCEEDED_MESSAGE = "Your input exceeds the context window of this model. Please adjust your input and try again.";

export function contextLengthExceeded(): ApiError {
  return invalidRequest(CONTEXT_LENGTH_EXCEEDED_MESSAGE, "input", "context_length_exceeded");
}

/** A spent billing quota: a 429 that no wait cures, so no Retry-After. */
export function insufficientQuota(): ApiError {
  return new ApiError(
    429,
    "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
    { type: "insufficient_quota", code: "insufficient_quota" },
  );
}

export function modelNotFound(model: string): ApiError {
  return new ApiError(404, `The model \`${model}\` does not exist or you do not have access to it.`, { code: "model_not_found" });
}

export const SERVER_ERROR_MESSAGE =
  "The server had an error processing your request. Sorry about that! You can retry your request, or contact us through our help center at help.openai.com if you keep seeing this error.";

export function serverError(): ApiError {
  return new ApiError(500, SERVER_ERROR_MESSAGE, { type: "server_error", code: "server_error" });
}

export function failMode(): ApiError {
  return new ApiError(500, "The offline model is in fail mode (POST /dev/model to change it).", {
    type: "server_error",
    code: "server_error",
  });
}

/** OpenAI's 429 for a spent request quota: its body, and the headers the openai client reads to wait. */
export function rateLimited(retryAfterSeconds: number): ApiError {
  return new ApiError(429, `Rate limit reached for requests (offline model in rate-limit mode). Please try again in ${retryAfterSeconds}s.`, {
    type: "requests",
    code: "rate_limit_exceeded",
    headers: {
      "retry-after": String(retryAfterSeconds),
      "retry-after-ms": String(retryAfterSeconds * 1000),
      "x-ratelimit-limit-requests": "500",
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": `${retryAfterSeconds}s`,
      "x-ratelimit-limit-tokens": "200000",
      "x-ratelimit-remaining-tokens": "199000",
      "x-ratelimit-reset-tokens": "300ms",
    },
  });
}

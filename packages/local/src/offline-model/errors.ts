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
    },
  });
}

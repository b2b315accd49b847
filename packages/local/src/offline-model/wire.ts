/**
 * The Responses API's wire shapes, as far as the offline model speaks them: the request body
 * (validated with zod; unknown fields are dropped, as they are ignored) and the response
 * objects it returns. Names follow OpenAI's, so these read against the `openai` package's types.
 */
import * as z from "zod";
import { invalidRequest, type ApiError } from "./errors.ts";

const contentPart = z.discriminatedUnion("type", [
  z.object({ type: z.literal("input_text"), text: z.string() }),
  z.object({ type: z.literal("output_text"), text: z.string() }),
  z.object({ type: z.literal("refusal"), refusal: z.string() }),
  // Accepted so that such messages validate; the offline model cannot see them.
  z.looseObject({ type: z.literal("input_image") }),
  z.looseObject({ type: z.literal("input_file") }),
]);
export type ContentPart = z.infer<typeof contentPart>;

const inputItem = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("message").optional(),
    role: z.enum(["user", "assistant", "system", "developer"]),
    content: z.union([z.string(), z.array(contentPart)]),
  }),
  z.object({ type: z.literal("function_call"), call_id: z.string().min(1), name: z.string().min(1), arguments: z.string() }),
  z.object({
    type: z.literal("function_call_output"),
    call_id: z.string().min(1),
    output: z.union([z.string(), z.array(contentPart)]),
  }),
  // A reasoning item sent back as context, as OpenAI allows; the offline model does not read it.
  z.looseObject({ type: z.literal("reasoning") }),
]);
export type InputItem = z.infer<typeof inputItem>;

const tool = z.union([
  z.looseObject({
    type: z.literal("function"),
    name: z.string().min(1),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  }),
  // Hosted tools (web_search, …) are accepted and never called.
  z.looseObject({ type: z.string().refine((type) => type !== "function", "function tools need a name") }),
]);
export type Tool = z.infer<typeof tool>;

export const createResponseBody = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(inputItem)]).optional(),
  instructions: z.string().nullish(),
  tools: z.array(tool).nullish(),
  tool_choice: z.unknown().optional(),
  previous_response_id: z.string().min(1).nullish(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  // OpenAI's own lower bound, so a value that fails there fails here too.
  max_output_tokens: z.number().int().min(16).nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  // "auto": past the context window, the oldest input is dropped instead of the request refused.
  truncation: z.enum(["auto", "disabled"]).nullish(),
  service_tier: z.enum(["auto", "default", "flex", "scale", "priority"]).nullish(),
  reasoning: z.looseObject({ effort: z.string().nullish(), summary: z.string().nullish() }).nullish(),
  prompt_cache_key: z.string().nullish(),
  safety_identifier: z.string().max(64).nullish(),
});
export type CreateResponseBody = z.infer<typeof createResponseBody>;

/** Parses a request body, or throws the 400 OpenAI would answer for it. */
export function parseCreateResponseBody(body: unknown): CreateResponseBody {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalidRequest("The request body must be a JSON object.");
  }
  const parsed = createResponseBody.safeParse(body, { reportInput: true });
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  throw first === undefined ? invalidRequest("Invalid request body.") : issueToError(first);
}

type Issue = z.core.$ZodIssue;

/** A union's failure is reported through its branch that got furthest, as OpenAI reports it. */
function deepestIssue(issue: Issue, prefix: PropertyKey[] = []): { issue: Issue; path: PropertyKey[] } {
  const path = [...prefix, ...issue.path];
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return { issue, path };
  let best: { issue: Issue; path: PropertyKey[] } | undefined;
  for (const branch of issue.errors) {
    const head = branch[0];
    if (head === undefined) continue;
    const candidate = deepestIssue(head, path);
    if (best === undefined || candidate.path.length > best.path.length) best = candidate;
  }
  return best ?? { issue, path };
}

function issueToError(top: Issue): ApiError {
  const { issue, path } = deepestIssue(top);
  const param = formatParam(path);
  if (issue.code === "invalid_type" && !("input" in issue && issue.input !== undefined)) {
    return invalidRequest(`Missing required parameter: '${param}'.`, param, "missing_required_parameter");
  }
  if (issue.code === "invalid_type") {
    return invalidRequest(`Invalid type for '${param}': expected ${issue.expected}.`, param, "invalid_type");
  }
  if (issue.code === "too_small" && path.at(-1) === "max_output_tokens") {
    return invalidRequest(
      `Invalid '${param}': integer below minimum value. Expected a value >= ${String(issue.minimum)}, but got ${String(issue.input)} instead.`,
      param,
      "integer_below_min_value",
    );
  }
  return invalidRequest(`Invalid value for '${param}': ${issue.message}.`, param, "invalid_value");
}

/** `["input", 0, "content"]` → `input[0].content`, OpenAI's way of naming a parameter. */
function formatParam(path: PropertyKey[]): string {
  let param = "";
  for (const key of path) {
    if (typeof key === "number") param += `[${key}]`;
    else param += param === "" ? String(key) : `.${String(key)}`;
  }
  return param === "" ? "body" : param;
}

// ---- What the server returns ----

export interface OutputText {
  type: "output_text";
  text: string;
  annotations: never[];
  logprobs: never[];
}

export interface OutputRefusal {
  type: "refusal";
  refusal: string;
}

export interface MessageItem {
  type: "message";
  id: string;
  role: "assistant";
  status: "in_progress" | "completed" | "incomplete";
  content: (OutputText | OutputRefusal)[];
  /** Set by models that write preambles: "commentary" before a tool call, "final_answer" for the answer. */
  phase?: "commentary" | "final_answer";
}

export interface FunctionCallItem {
  type: "function_call";
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: "in_progress" | "completed" | "incomplete";
}

export interface ReasoningItem {
  type: "reasoning";
  id: string;
  summary: { type: "summary_text"; text: string }[];
  encrypted_content: string | null;
  status: "in_progress" | "completed" | "incomplete";
}

export type OutputItem = MessageItem | FunctionCallItem | ReasoningItem;

export interface Usage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/**
 * The response object as OpenAI sends it. It has no `output_text`: that is the SDK's
 * convenience, computed on the client from `output`.
 */
export interface ResponseObject {
  id: string;
  object: "response";
  created_at: number;
  completed_at: number | null;
  status: "in_progress" | "completed" | "incomplete" | "failed";
  background: boolean;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: "max_output_tokens" } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  metadata: Record<string, string>;
  model: string;
  output: OutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  prompt_cache_key: string | null;
  reasoning: { effort: string | null; summary: string | null };
  safety_identifier: string | null;
  /** The tier asked for while in progress ("auto" by default), the tier that served it once done. */
  service_tier: string;
  store: boolean;
  temperature: number;
  text: { format: { type: "text" }; verbosity: "medium" };
  tool_choice: unknown;
  tools: Tool[];
  top_p: number;
  truncation: "auto" | "disabled";
  usage: Usage | null;
}

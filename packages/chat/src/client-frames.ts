import type { ErrorCode } from "@azuchi/core";
import { DeleteSessionFrame, GetSessionFrame, ListSessionsFrame, MAX_MESSAGE_CHARS, messageTextProblem, PutMessageFrame, RegenerateReplyFrame, RenameSessionFrame, RetryMessageFrame, StopGenerationFrame } from "@azuchi/core";
import * as z from "zod/mini";

/** The actions a client may send: the WebSocket API's routes besides $connect/$disconnect/$default. */
export const CLIENT_ROUTES = ["putMessage", "getSession", "listSessions", "stopGeneration", "retryMessage", "renameSession", "deleteSession", "regenerateReply"] as const;

const schemas = {
  putMessage: PutMessageFrame,
  getSession: GetSessionFrame,
  listSessions: ListSessionsFrame,
  stopGeneration: StopGenerationFrame,
  retryMessage: RetryMessageFrame,
  renameSession: RenameSessionFrame,
  deleteSession: DeleteSessionFrame,
  regenerateReply: RegenerateReplyFrame,
} as const;

/** A bad frame, with the code the `error` frame carries. */
export class FrameError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "FrameError";
    this.code = code;
    this.details = details;
  }
}

/** The body as a JSON object, or BAD_REQUEST. */
export function parseJsonObject(body: string | null | undefined): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(body ?? "");
  } catch {
    throw new FrameError("BAD_REQUEST", "The frame is not JSON: send a JSON object with an \"action\".");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new FrameError("BAD_REQUEST", "The frame must be a JSON object with an \"action\".");
  }
  return json as Record<string, unknown>;
}

export function parseClientFrame<A extends keyof typeof schemas>(action: A, body: string | null | undefined): z.infer<(typeof schemas)[A]> {
  const json = parseJsonObject(body);
  const parsed = schemas[action].safeParse(json);
  if (!parsed.success) {
    throw new FrameError("BAD_REQUEST", `Invalid ${action} frame: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data as z.infer<(typeof schemas)[A]>;
}

/** White space and invisible format characters (zero-width space, BOM, …): a message of only these is empty. */
/** The text of a message, checked: not blank, well-formed Unicode, not over the limit. */
export function checkMessageText(text: string, maxChars = MAX_MESSAGE_CHARS): string {
  const problem = messageTextProblem(text, maxChars);
  if (!problem) return text;
  const { code, message, ...details } = problem;
  throw new FrameError(code, message, details);
}

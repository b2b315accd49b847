import type { Language } from "@azuchi/core";
import type * as z from "zod/mini";

export interface ToolContext {
  language: Language;
  now: () => Date;
  /** The user's IANA time zone and locale, when their page sent them. */
  timeZone?: string;
  locale?: string;
}

export interface ToolOutcome {
  /** What the model receives as the function_call_output. */
  output: string;
  /** What the user sees: the AGENT_LOG's outcome line, or the PLAN message's text. */
  summary: string;
  /** Structured content for the message (a PLAN's steps). */
  payload?: unknown;
}

/**
 * A function the model may call. `shows: "plan"` turns each call into a PLAN message
 * (and no AGENT_LOG); every other tool shows as AGENT_LOG lines.
 */
export interface AgentTool<Args = unknown> {
  name: string;
  description: string;
  parameters: z.ZodMiniType<Args>;
  shows: "plan" | "log";
  run(args: Args, context: ToolContext): Promise<ToolOutcome>;
}

/** Each tool's parameters, by its name, as the JSON Schema OpenAI's strict function calling takes (parameters.ts). */
export type ToolParameters = Readonly<Record<string, Record<string, unknown>>>;

export function defineTool<Args>(tool: AgentTool<Args>): AgentTool<Args> {
  return tool;
}

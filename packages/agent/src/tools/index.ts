import type { FunctionTool } from "openai/resources/responses/responses";
import * as z from "zod/mini";
import { getCurrentTime } from "./get-current-time.ts";
import type { AgentTool } from "./tool.ts";
import { updatePlan } from "./update-plan.ts";

export type { AgentTool, ToolContext, ToolOutcome } from "./tool.ts";
export { PlanPayload } from "./update-plan.ts";

/** Every tool the agent offers. Adding a tool: one file in this folder and one line here. */
export const TOOLS: AgentTool<never>[] = [updatePlan, getCurrentTime] as AgentTool<never>[];

export class ToolRegistry {
  private readonly byName: Map<string, AgentTool<unknown>>;
  private functionTools: FunctionTool[] | undefined;

  constructor(tools: AgentTool<never>[] = TOOLS) {
    this.byName = new Map(tools.map((tool) => [tool.name, tool as AgentTool<unknown>]));
  }

  get(name: string): AgentTool<unknown> | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /**
   * The tools as the Responses API takes them (sent on every request: they are not inherited).
   * Made once: the JSON Schemas cost a few tenths of a millisecond of CPU, which every model
   * request would otherwise spend before it is sent. The one array is every caller's: read it only.
   */
  definitions(): FunctionTool[] {
    return (this.functionTools ??= [...this.byName.values()].map((tool) => ({
      type: "function",
      name: tool.name,
      description: tool.description,
      parameters: strictSchema(z.toJSONSchema(tool.parameters, { io: "input" })),
      strict: true,
    })));
  }
}

/** Keywords OpenAI's strict mode refuses; our zod schemas still check them on the arguments. */
const UNSUPPORTED = new Set(["$schema", "minLength", "maxLength", "default"]);

/**
 * A JSON schema as strict function calling accepts it: every object closed
 * (additionalProperties false) with every property required; a property the zod schema lets
 * be left out must accept null instead (declare it `z.nullish(…)`), so the model can still omit it.
 */
export function strictSchema(schema: unknown): Record<string, unknown> {
  return strict(schema) as Record<string, unknown>;
}

function acceptsNull(schema: unknown): boolean {
  const node = schema as { type?: unknown; anyOf?: unknown[] };
  return node.type === "null" || (Array.isArray(node.type) && node.type.includes("null")) || (node.anyOf ?? []).some(acceptsNull);
}

function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (!node || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) if (!UNSUPPORTED.has(key)) out[key] = strict(value);
  if (out.type === "object") {
    const properties = (out.properties ?? {}) as Record<string, unknown>;
    const required = new Set((out.required ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      if (!required.has(name) && !acceptsNull(property)) throw new Error(`tool parameter ${name} may be left out but is not nullable; declare it z.nullish(…) for strict mode`);
    }
    out.properties = properties;
    out.required = Object.keys(properties);
    out.additionalProperties = false;
  }
  return out;
}

import type { FunctionTool } from "openai/resources/responses/responses";
import { getCurrentTime } from "./get-current-time.ts";
import { TOOL_PARAMETERS } from "./parameters.ts";
import type { AgentTool, ToolParameters } from "./tool.ts";
import { updatePlan } from "./update-plan.ts";

export type { AgentTool, ToolContext, ToolOutcome } from "./tool.ts";
export { PlanPayload } from "./update-plan.ts";

/**
 * Every tool the agent offers. Adding a tool: one file in this folder, one line here, and
 * `npm run tools:parameters`, which writes its parameters' JSON Schema into parameters.ts.
 */
export const TOOLS: AgentTool<never>[] = [updatePlan, getCurrentTime] as AgentTool<never>[];

export class ToolRegistry {
  private readonly byName: Map<string, AgentTool<unknown>>;
  private readonly parameters: ToolParameters;
  private functionTools: FunctionTool[] | undefined;

  constructor(tools: AgentTool<never>[] = TOOLS, parameters: ToolParameters = TOOL_PARAMETERS) {
    this.byName = new Map(tools.map((tool) => [tool.name, tool as AgentTool<unknown>]));
    this.parameters = parameters;
  }

  get(name: string): AgentTool<unknown> | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /**
   * The tools as the Responses API takes them (sent on every request: they are not inherited).
   * Their parameters' JSON Schemas were made from the zod schemas when parameters.ts was written,
   * not here: zod's JSON Schema conversion is ≈ 22 KB a cold start would load, and tenths of a
   * millisecond a request would spend. Made once; the one array is every caller's: read it only.
   */
  definitions(): FunctionTool[] {
    return (this.functionTools ??= [...this.byName.values()].map((tool) => {
      const parameters = this.parameters[tool.name];
      if (!parameters) throw new Error(`tool ${tool.name} has no JSON Schema in tools/parameters.ts: run npm run tools:parameters`);
      return { type: "function", name: tool.name, description: tool.description, parameters, strict: true };
    }));
  }
}

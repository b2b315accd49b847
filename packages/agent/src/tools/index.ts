import type { FunctionTool } from "openai/resources/responses/responses";
import { z } from "zod";
import { getCurrentTime } from "./get-current-time.ts";
import type { AgentTool } from "./tool.ts";
import { updatePlan } from "./update-plan.ts";

export type { AgentTool, ToolContext, ToolOutcome } from "./tool.ts";
export { PlanPayload } from "./update-plan.ts";

/** Every tool the agent offers. Adding a tool: one file in this folder and one line here. */
export const TOOLS: AgentTool<never>[] = [updatePlan, getCurrentTime] as AgentTool<never>[];

export class ToolRegistry {
  private readonly byName: Map<string, AgentTool<unknown>>;

  constructor(tools: AgentTool<never>[] = TOOLS) {
    this.byName = new Map(tools.map((tool) => [tool.name, tool as AgentTool<unknown>]));
  }

  get(name: string): AgentTool<unknown> | undefined {
    return this.byName.get(name);
  }

  /** The tools as the Responses API takes them (sent on every request: they are not inherited). */
  definitions(): FunctionTool[] {
    return [...this.byName.values()].map((tool) => ({
      type: "function",
      name: tool.name,
      description: tool.description,
      parameters: z.toJSONSchema(tool.parameters) as Record<string, unknown>,
      strict: false,
    }));
  }
}

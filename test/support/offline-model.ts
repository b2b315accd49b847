import OpenAI from "openai";
import type { FunctionTool } from "openai/resources/responses/responses";
import { startOfflineModel, type OfflineModel } from "../../packages/local/src/offline-model/index.ts";

/** The agent's two tools as a request names them (schemas loose: the offline model reads only names). */
export const agentTools: FunctionTool[] = [
  { type: "function", name: "update_plan", description: "Records the plan", parameters: { type: "object" }, strict: false },
  { type: "function", name: "get_current_time", description: "Tells the time", parameters: { type: "object" }, strict: false },
];

/** An instant offline model and the real `openai` client pointed at it, with no retries of its own. */
export async function startModelAndClient(): Promise<{ model: OfflineModel; client: OpenAI }> {
  const model = await startOfflineModel({ firstTokenMs: 0, tokenMs: 0 });
  return { model, client: new OpenAI({ apiKey: "offline", baseURL: model.baseURL, maxRetries: 0 }) };
}

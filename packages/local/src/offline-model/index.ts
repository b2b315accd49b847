/**
 * The offline model: a local, deterministic stand-in for OpenAI's Responses API, used when no
 * OPENAI_API_KEY is set and by tests. Point the real `openai` client at `baseURL`.
 *
 *   const model = await startOfflineModel();
 *   const client = new OpenAI({ apiKey: "offline", baseURL: model.baseURL });
 */
export { startOfflineModel, type OfflineModel, type OfflineModelOptions } from "./server.ts";
export { acceptingModel, DEFAULT_MODELS, InvalidOfflineModelSettingsError, type OfflineModelSettings } from "./settings.ts";
export { SCENARIOS, type Scenario } from "./scenarios.ts";
export { PLAN_TOOL, TIME_TOOL } from "./responder.ts";
export { tokenize } from "./tokens.ts";

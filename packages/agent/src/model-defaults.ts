/**
 * The model the agent asks unless AZUCHI_OPENAI_MODEL names another: written once, read by the
 * agent's settings (deps.ts) and by the stacks that deploy it. No imports, so infrastructure
 * code can read it without loading the agent.
 */
export const DEFAULT_OPENAI_MODEL = "gpt-4.1-mini";

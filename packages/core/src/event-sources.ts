/**
 * The bus's event sources, in a file of their own with no imports: the topology
 * (./topology.ts), which the stacks load inside SST, names the agent's source in chat's
 * subscription without bringing zod and the event schemas along.
 */
export const AGENT_EVENT_SOURCE = "azuchi.ai-agent";
export const CHAT_EVENT_SOURCE = "azuchi.chat";

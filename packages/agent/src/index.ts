export { handler as consumeJobs } from "./handlers/consume-jobs.ts";
export { agentDeps, type AgentDeps } from "./deps.ts";

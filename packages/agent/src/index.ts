export { handler as consumeJobs, createJobConsumer } from "./handlers/consume-jobs.ts";
export { handler as generateReply } from "./handlers/generate-reply.ts";
export { handler as httpAuthorizer } from "./handlers/http-authorizer.ts";
export { agentDeps, createAgentDeps, settingsFromEnvironment, type AgentDeps, type AgentSettings } from "./deps.ts";

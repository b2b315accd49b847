/**
 * The local stack in a process of its own, for `npm run bench`: the bench's WebSocket
 * clients then do not share the stack's event loop or CPU, and the stack's CPU time and RSS
 * are its own. Started with fork(); answers its parent over IPC (BenchStackMessage).
 */
import { definedScripts } from "@azuchi/core";
import { startLocalStack } from "../stack.ts";
import { processUsage, type ProcessUsage } from "./usage.ts";

export interface BenchStackReady {
  type: "ready";
  url: string;
  webSocketUrl: string;
  redis: { host: string; port: number };
  modelBaseURL: string;
  modelName: string;
  model: { firstTokenMs: number; tokenMs: number };
}
export interface BenchStackUsage {
  type: "usage";
  processes: ProcessUsage[];
  /** The Lua scripts' names by SHA-1, as the handlers defined them (MONITOR shows only the SHA). */
  scripts: Record<string, string>;
}
export type BenchStackMessage = BenchStackReady | BenchStackUsage;

const settings = JSON.parse(process.argv[2] ?? "{}") as { firstTokenMs: number; tokenMs: number };
process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
const stack = await startLocalStack({
  port: 0,
  ephemeral: true,
  log: () => undefined,
  model: settings,
  // Messages are rate limited per user; the bench measures turns, not the limit.
  environment: { AZUCHI_RATE_BURST: "100000" },
});
const memory = JSON.parse(stack.environment.SST_RESOURCE_AgentMemory!) as { host: string; port: number };
const model = stack.model!.settings();
const send = (message: BenchStackMessage) => process.send!(message);
send({
  type: "ready",
  url: stack.url,
  webSocketUrl: stack.webSocketUrl,
  redis: { host: memory.host, port: memory.port },
  modelBaseURL: stack.model!.baseURL,
  modelName: process.env.AZUCHI_OPENAI_MODEL || "gpt-4.1-mini",
  model: { firstTokenMs: model.firstTokenMs, tokenMs: model.tokenMs },
});

/**
 * The CPU and peak RSS of every process the stack runs in. Today that is this one process.
 * INTEGRATION POINT (multi-process stack): when the stack runs handlers or emulators in
 * workers or child processes, add each one's ProcessUsage here, so the figures stay the
 * whole stack's.
 */
function stackUsage(): ProcessUsage[] {
  return [processUsage("stack")];
}

process.on("message", (message: { type: "usage" } | { type: "stop" }) => {
  if (message.type === "usage") send({ type: "usage", processes: stackUsage(), scripts: Object.fromEntries(definedScripts) });
  if (message.type === "stop") {
    // The handlers' clients live at module scope, as in a Lambda, and would go on reconnecting
    // to the stopped Redis for minutes: end the process once the stack is down.
    void stack.stop().finally(() => process.exit(0));
  }
});
process.on("disconnect", () => void stack.stop().finally(() => process.exit(0)));

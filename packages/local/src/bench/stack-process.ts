/**
 * The local stack in a process of its own, for `npm run bench`: the bench's WebSocket
 * clients then do not share the stack's event loop or CPU, and the stack's CPU time and RSS
 * are its own. Started with fork(); answers its parent over IPC (BenchStackMessage).
 */
import { DEFAULT_OPENAI_MODEL } from "@azuchi/agent/defaults";
import { definedScripts, stringFromEnv } from "@azuchi/core";
import { startLocalStack } from "../stack.ts";
import type { ProcessUsage } from "./usage.ts";

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
  modelName: stringFromEnv("AZUCHI_OPENAI_MODEL", DEFAULT_OPENAI_MODEL),
  model: { firstTokenMs: model.firstTokenMs, tokenMs: model.tokenMs },
});

/**
 * The CPU and peak RSS of the whole stack: this process with all its threads (handlers,
 * consumer, dynalite) and its redis-server, as stack.resourceUsage() adds them up.
 */
async function stackUsage(): Promise<ProcessUsage[]> {
  const usage = await stack.resourceUsage();
  return [{ name: "stack (all threads) and redis-server", cpuMs: usage.cpuMs, maxRssBytes: usage.peakRssBytes }];
}

process.on("message", (message: { type: "usage" } | { type: "stop" }) => {
  if (message.type === "usage") void stackUsage().then((processes) => send({ type: "usage", processes, scripts: Object.fromEntries(definedScripts) }));
  if (message.type === "stop") {
    // The handlers' clients live at module scope, as in a Lambda, and would go on reconnecting
    // to the stopped Redis for minutes: end the process once the stack is down.
    void stack.stop().finally(() => process.exit(0));
  }
});
process.on("disconnect", () => void stack.stop().finally(() => process.exit(0)));

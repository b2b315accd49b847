/** Inside a LambdaWorker's or LambdaHost's thread: loads each module once, runs each invocation as Lambda would. */
import { parentPort, workerData } from "node:worker_threads";
import { definedScripts } from "@azuchi/core/redis";
import { invokeLambda, type LambdaHandler } from "./invoke.ts";
import type { Invocation, WorkerStart } from "./lambda-worker.ts";

const modules = new Map<string, Promise<Record<string, unknown>>>();
const load = (module: string) => {
  let loaded = modules.get(module);
  if (!loaded) modules.set(module, (loaded = import(module) as Promise<Record<string, unknown>>));
  return loaded;
};
// The instance's cold start happens when it starts, not in its first invocation.
for (const module of (workerData as WorkerStart).preload) load(module).catch(() => undefined);

async function handlerOf({ module, exportName }: Invocation): Promise<LambdaHandler> {
  const handler = (await load(module))[exportName];
  if (typeof handler !== "function") throw new Error(`${module} has no function ${exportName}`);
  return handler as LambdaHandler;
}

/** The Lua scripts the handlers defined here, passed on so the stack's process can name them too (the bench's MONITOR counts). */
let scriptsPassedOn = 0;
function passOnScripts(): void {
  if (definedScripts.size === scriptsPassedOn) return;
  scriptsPassedOn = definedScripts.size;
  parentPort!.postMessage({ scripts: [...definedScripts] });
}

parentPort!.on("message", ({ id, event, invocation }: { id: number; event: unknown; invocation: Invocation }) => {
  handlerOf(invocation)
    .then((handler) => invokeLambda(handler, event, { functionName: invocation.functionName, timeoutMs: invocation.timeoutMs }))
    .finally(passOnScripts)
    .then(
      (value) => parentPort!.postMessage({ id, ok: true, value }),
      (error: unknown) => {
        const failure = error instanceof Error ? error : new Error(String(error));
        parentPort!.postMessage({ id, ok: false, name: failure.name, message: failure.message, stack: failure.stack });
      },
    );
});

/** Inside a LambdaWorker's thread: loads the handler once, runs each invocation as Lambda would. */
import { parentPort, workerData } from "node:worker_threads";
import { invokeLambda, type LambdaHandler } from "./lambda.ts";
import type { LambdaWorkerOptions } from "./lambda-worker.ts";

const options = workerData as LambdaWorkerOptions;
const loaded = import(options.module).then((module: Record<string, unknown>) => {
  const handler = module[options.exportName];
  if (typeof handler !== "function") throw new Error(`${options.module} has no function ${options.exportName}`);
  return handler as LambdaHandler;
});

parentPort!.on("message", ({ id, event }: { id: number; event: unknown }) => {
  loaded
    .then((handler) => invokeLambda(handler, event, { functionName: options.functionName, timeoutMs: options.timeoutMs }))
    .then(
      (value) => parentPort!.postMessage({ id, ok: true, value }),
      (error: unknown) => {
        const failure = error instanceof Error ? error : new Error(String(error));
        parentPort!.postMessage({ id, ok: false, name: failure.name, message: failure.message });
      },
    );
});

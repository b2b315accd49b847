/**
 * A Lambda instance that can die: runs one module's handler in a worker thread, so the local
 * stack can kill it mid-invocation as a crash would (its sockets and timers gone, nothing
 * finished), and starts a fresh instance for the next invocation, as Lambda does.
 */
import { Worker } from "node:worker_threads";
import { LambdaCrashedError } from "./lambda.ts";

export interface LambdaWorkerOptions {
  /** A module URL and the export that is the handler, e.g. @azuchi/agent's consumeJobs. */
  module: string;
  exportName: string;
  functionName: string;
  timeoutMs: number;
}

export interface LambdaWorker {
  invoke<E, R>(event: E): Promise<R>;
  /** Kills the instance now; its invocations fail with LambdaCrashedError. Returns how many were running. */
  crash(): Promise<number>;
  close(): Promise<void>;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; name: string; message: string };

const runtime = new URL("./lambda-worker-runtime.ts", import.meta.url);

export function startLambdaWorker(options: LambdaWorkerOptions): LambdaWorker {
  let worker: Worker | undefined;
  let pending = new Map<number, Pending>();
  let nextId = 0;

  const failAll = (of: Map<number, Pending>, error: Error) => {
    for (const call of of.values()) call.reject(error);
    of.clear();
  };

  const instance = (): Worker => {
    if (worker) return worker;
    // The handler reads process.env: the worker gets the stack's, as set when it starts.
    const started = new Worker(runtime, { workerData: options });
    const calls = pending;
    started.on("message", (reply: Reply) => {
      const call = calls.get(reply.id);
      if (!call) return;
      calls.delete(reply.id);
      if (reply.ok) call.resolve(reply.value);
      else call.reject(Object.assign(new Error(reply.message), { name: reply.name }));
    });
    started.on("error", (error) => failAll(calls, error));
    started.on("exit", () => {
      failAll(calls, new LambdaCrashedError(options.functionName));
      if (worker === started) worker = undefined;
    });
    worker = started;
    return started;
  };

  return {
    invoke<E, R>(event: E): Promise<R> {
      const id = nextId++;
      const target = instance();
      return new Promise<R>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        target.postMessage({ id, event });
      });
    },
    async crash() {
      const dying = worker;
      const running = pending.size;
      if (!dying) return 0;
      // The next invocation starts a new instance with a map of its own.
      worker = undefined;
      const calls = pending;
      pending = new Map();
      await dying.terminate();
      failAll(calls, new LambdaCrashedError(options.functionName));
      return running;
    },
    async close() {
      const closing = worker;
      worker = undefined;
      if (closing) await closing.terminate();
      failAll(pending, new LambdaCrashedError(options.functionName));
    },
  };
}

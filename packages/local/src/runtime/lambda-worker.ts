/**
 * Lambda instances on threads of their own. A LambdaWorker runs one module's handler, so the
 * local stack can kill it mid-invocation as a crash would (its sockets and timers gone,
 * nothing finished) and start a fresh instance for the next invocation, as Lambda does. A
 * LambdaHost runs a service's handlers (azuchi-chat's routes, say) off the stack's own event
 * loop, so the gateway, the emulators and the handlers use more than one core, as separate
 * Lambdas would.
 */
import { SHARE_ENV, Worker } from "node:worker_threads";
import { definedScripts } from "@azuchi/core/redis";
import { LambdaCrashedError, type LambdaHandler } from "./invoke.ts";

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

export interface LambdaHostOptions {
  /** Modules the instance loads when it starts (its cold start), e.g. `@azuchi/chat`. */
  modules: string[];
  /** For errors: what the instance runs, e.g. "azuchi-chat". */
  name: string;
}

export interface LambdaHost {
  /** A handler of one of the modules, run on the host's thread; the caller's context gives its name and the time left. */
  handler<E, R>(module: string, exportName: string): LambdaHandler<E, R>;
  close(): Promise<void>;
}

/** One invocation as the thread runs it (lambda-worker-thread.ts). */
export interface Invocation {
  module: string;
  exportName: string;
  functionName: string;
  timeoutMs: number;
}

export interface WorkerStart {
  preload: string[];
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; name: string; message: string; stack?: string };
type ScriptNames = { scripts: [sha: string, name: string][] };

const runtime = new URL("./lambda-worker-thread.ts", import.meta.url);

/** A thread that runs invocations, started again after it dies. */
function instanceThread(start: WorkerStart, name: string, shareEnv: boolean) {
  let worker: Worker | undefined;
  let pending = new Map<number, Pending>();
  let nextId = 0;

  const failAll = (of: Map<number, Pending>, error: Error) => {
    for (const call of of.values()) call.reject(error);
    of.clear();
  };

  const instance = (): Worker => {
    if (worker) return worker;
    // The handlers read process.env: the worker gets the stack's, as set when it starts (or,
    // shared, as it is now: a host stands for handlers that ran in this process before).
    const started = new Worker(runtime, { workerData: start, ...(shareEnv ? { env: SHARE_ENV } : {}) });
    const calls = pending;
    started.on("message", (reply: Reply | ScriptNames) => {
      if ("scripts" in reply) {
        for (const [sha, name] of reply.scripts) definedScripts.set(sha, name);
        return;
      }
      const call = calls.get(reply.id);
      if (!call) return;
      calls.delete(reply.id);
      if (reply.ok) call.resolve(reply.value);
      // The handler's own stack, where it failed on the thread, rather than this line's.
      else call.reject(Object.assign(new Error(reply.message), { name: reply.name }, reply.stack ? { stack: reply.stack } : {}));
    });
    started.on("error", (error) => failAll(calls, error));
    started.on("exit", () => {
      failAll(calls, new LambdaCrashedError(name));
      if (worker === started) worker = undefined;
    });
    worker = started;
    return started;
  };

  return {
    invoke<R>(invocation: Invocation, event: unknown): Promise<R> {
      const id = nextId++;
      const target = instance();
      return new Promise<R>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        target.postMessage({ id, event, invocation });
      });
    },
    /** Starts the instance now rather than at the first invocation. */
    warm() {
      instance();
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
      failAll(calls, new LambdaCrashedError(name));
      return running;
    },
    async close() {
      const closing = worker;
      worker = undefined;
      if (closing) await closing.terminate();
      failAll(pending, new LambdaCrashedError(name));
    },
  };
}

export function startLambdaWorker(options: LambdaWorkerOptions): LambdaWorker {
  const thread = instanceThread({ preload: [options.module] }, options.functionName, false);
  return {
    invoke: <E, R>(event: E) => thread.invoke<R>(options, event),
    crash: () => thread.crash(),
    close: () => thread.close(),
  };
}

export function startLambdaHost(options: LambdaHostOptions): LambdaHost {
  const thread = instanceThread({ preload: options.modules }, options.name, true);
  thread.warm();
  return {
    handler: <E, R>(module: string, exportName: string): LambdaHandler<E, R> =>
      (event, context) => thread.invoke<R>({ module, exportName, functionName: context.functionName, timeoutMs: context.getRemainingTimeInMillis() }, event),
    close: () => thread.close(),
  };
}

/**
 * One drill's local stack, in a process of its own: the handlers keep their dependencies for the
 * life of the process (as a Lambda instance does), so each stack — and each restart of one —
 * needs a fresh process. The drill harness drives it over IPC for the faults it cannot reach
 * from outside (killing the consumer, stopping Redis) and over HTTP, WebSocket and the AWS
 * SDK for everything else.
 */
import { startLocalStack, type LocalStackOptions } from "../stack.ts";

export type StackOp = { op: "crashConsumer" } | { op: "redisHalt" } | { op: "redisStart"; empty: boolean } | { op: "stop" };
export type StackRequest = StackOp & { id: number };
export type StackReply = { id: number; ok: true; value?: unknown } | { id: number; ok: false; error: string };
export interface StackReady {
  type: "ready";
  url: string;
  webSocketUrl: string;
  environment: Record<string, string>;
  queues: { jobs: string; dlq: string };
}

const options = JSON.parse(process.argv[2] ?? "{}") as LocalStackOptions;
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
const stack = await startLocalStack({ ...options, log: (line) => process.stderr.write(`${line}\n`) });
const send = (message: StackReady | StackReply) => process.send?.(message);

let stopping: Promise<void> | undefined;
const stop = () => (stopping ??= stack.stop().finally(() => process.exit(0)));
process.on("disconnect", () => void stop());
process.on("SIGTERM", () => void stop());

process.on("message", (request: StackRequest) => {
  const run = async (): Promise<unknown> => {
    switch (request.op) {
      case "crashConsumer":
        return stack.crashConsumer();
      case "redisHalt":
        if (!stack.redis) throw new Error("the stack has no redis-server of its own");
        return stack.redis.halt();
      case "redisStart":
        if (!stack.redis) throw new Error("the stack has no redis-server of its own");
        return stack.redis.start({ empty: request.empty });
      case "stop":
        send({ id: request.id, ok: true });
        return stop();
    }
  };
  run().then(
    (value) => request.op !== "stop" && send({ id: request.id, ok: true, value }),
    (error: unknown) => send({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});

send({ type: "ready", url: stack.url, webSocketUrl: stack.webSocketUrl, environment: stack.environment, queues: stack.queues });

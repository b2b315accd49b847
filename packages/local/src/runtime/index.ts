/**
 * `@azuchi/local/runtime`: Lambda's side of things, not an emulator of a service — the event
 * source mapping that feeds a queue to a function (startSqsPoller) and the invocation of a
 * handler with its context and timeout (invokeLambda), on this thread or on an instance thread
 * of its own. The local stack runs its functions with it against the emulators, and the `sst
 * dev` consumer (stacks/dev/consume-agent-jobs.ts) against the stage's real queue.
 */
export { InvalidBatchItemFailureError, MessageDeleteError, startSqsPoller, toSqsRecord } from "./event-source-poller.ts";
export type { PollerTransport, SqsPoller, SqsPollerOptions } from "./event-source-poller.ts";
export { invokeLambda, LambdaCrashedError, LambdaTimeoutError } from "./invoke.ts";
export type { InvokeOptions, LambdaHandler } from "./invoke.ts";
export { startLambdaHost, startLambdaWorker } from "./lambda-worker.ts";
export type { LambdaHost, LambdaHostOptions, LambdaWorker, LambdaWorkerOptions } from "./lambda-worker.ts";

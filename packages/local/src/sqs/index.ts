export { startSqsEmulator } from "./server.ts";
export type { SqsEmulator, SqsEmulatorOptions } from "./server.ts";
export { InvalidBatchItemFailureError, MessageDeleteError, startSqsPoller } from "./poller.ts";
export type { SqsPoller, SqsPollerOptions } from "./poller.ts";

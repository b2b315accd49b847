export { startSqsEmulator } from "./server.ts";
export type { SqsEmulator, SqsEmulatorOptions } from "./server.ts";
export { InvalidBatchItemFailureError, MessageDeleteError, startSqsPoller, toSqsRecord } from "./poller.ts";
export type { SqsPoller, SqsPollerOptions } from "./poller.ts";

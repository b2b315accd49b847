export { startSqsEmulator } from "./server.ts";
export type { SqsEmulator, SqsEmulatorOptions } from "./server.ts";
export { inProcessTransport, InvalidBatchItemFailureError, MessageDeleteError, startSqsPoller, toSqsRecord } from "./poller.ts";
export type { PollerTransport, SqsPoller, SqsPollerOptions } from "./poller.ts";

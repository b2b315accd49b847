export { startSqsEmulator } from "./server.ts";
export type { SqsEmulator, SqsEmulatorOptions } from "./server.ts";
export { inProcessTransport } from "./in-process-transport.ts";

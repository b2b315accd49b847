/**
 * `@azuchi/core/contracts`: the wire shapes both services, the web client and the CLI share —
 * messages, frames, the queue job, the bus's events, the metrics snapshot. zod only: nothing
 * here reaches AWS, Redis or Node, so a browser bundle may import it.
 */
export * from "./message.ts";
export * from "./frames.ts";
export * from "./job.ts";
export * from "./events.ts";
export * from "./language.ts";
export * from "./metrics-snapshot.ts";

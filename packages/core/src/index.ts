/**
 * Everything of @azuchi/core at once. A handler imports the subpath it needs instead
 * (`@azuchi/core/auth`, `/contracts`, `/env`, `/ids`, `/links`, `/redis`, `/repositories`,
 * `/resources`: the exports of package.json), so its bundle holds only that: the $connect authorizer needs jose,
 * not Redis or DynamoDB (test/infra/bundles.test.ts checks it). A new module goes here and
 * in its subpath; `/event-bus` alone is in no index (its `import()` would ship with every bundle).
 */
export * from "./message.ts";
export * from "./frames.ts";
export * from "./job.ts";
export * from "./events.ts";
export * from "./redis-keys.ts";
export * from "./stop-flag.ts";
export * from "./ids.ts";
export * from "./language.ts";
export * from "./resources.ts";
export * from "./env.ts";
export * from "./links.ts";
export * from "./aws-clients.ts";
export * from "./sqs-client.ts";
export * from "./messages-repository.ts";
export * from "./sessions-repository.ts";
export * from "./connections-repository.ts";
export * from "./notifier.ts";
export * from "./event-publisher.ts";
export * from "./pending-events.ts";
export * from "./auth/verify-token.ts";
export * from "./submit-user-message.ts";
export * from "./retry-user-message.ts";
export * from "./message-guard.ts";
export * from "./redis-client.ts";
export * from "./redis-script.ts";
export * from "./rate-limiter.ts";
export type { Redis, Cluster } from "ioredis";
export * from "./metrics-snapshot.ts";
export * from "./call-counts.ts";

/**
 * `@azuchi/core/repositories`: the AWS side — clients, the DynamoDB repositories, the
 * @connections notifier, the event publisher, and the submit use case built on them.
 */
export * from "./aws-clients.ts";
export * from "./sqs-client.ts";
export * from "./messages-repository.ts";
export * from "./sessions-repository.ts";
export * from "./connections-repository.ts";
export * from "./message-guard.ts";
export * from "./notifier.ts";
export * from "./event-publisher.ts";
export * from "./pending-events.ts";
export * from "./submit-user-message.ts";
export * from "./retry-user-message.ts";

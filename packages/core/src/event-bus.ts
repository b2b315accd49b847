import type { EventPublisher } from "./event-publisher.ts";

/**
 * The bus's publisher for `source`, made on first use: event-publisher.ts, with the EventBridge
 * client, is imported then (`import()`), so with the functions split (stacks/defaults.ts) a cold
 * start does not load it. For the code that publishes only after its answer or on a rare path:
 * the consumer's turns, and putMessage's and generateChatReply's message stored but not queued.
 * Only their composition roots import this module (`@azuchi/core/event-bus`, in no index):
 * esbuild ships the chunk an `import()` reaches with every bundle that holds the module.
 */
export function publisherOnFirstUse(source: string, busName: () => string): () => Promise<EventPublisher> {
  let publisher: Promise<EventPublisher> | undefined;
  return () => (publisher ??= import("./event-publisher.ts").then(({ EventPublisher, createEventBridgeClient }) => new EventPublisher(createEventBridgeClient(), busName(), source)));
}

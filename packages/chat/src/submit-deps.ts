import { CHAT_EVENT_SOURCE } from "@azuchi/core/contracts";
import { linkedBusName } from "@azuchi/core/links";
import type { EventPublisher, SubmitUserMessageDeps } from "@azuchi/core/repositories";
import { chatKeys, jobQueue, messageRate, messages, notifier } from "./deps.ts";

/*
 * putMessage's part of the composition root (deps.ts), in a module of its own: esbuild ships
 * the chunk an `import()` reaches with every bundle that holds the module, and deps.ts is in
 * every route's.
 */

let publisher: Promise<EventPublisher> | undefined;
/**
 * MessagePosted for a USER message chat stored but could not queue, its one event: imported on
 * that first use, so a cold start does not load the EventBridge client (core's event-publisher.ts).
 */
function events(): Promise<EventPublisher> {
  return (publisher ??= import("@azuchi/core/event-publisher").then(({ EventPublisher, createEventBridgeClient }) => new EventPublisher(createEventBridgeClient(), linkedBusName(), CHAT_EVENT_SOURCE)));
}

/** What putMessage's use case (core's submitUserMessage) needs. */
export function submitDeps(): SubmitUserMessageDeps {
  return { messages: messages(), ...jobQueue(), notifier: notifier(), events, messageRate: messageRate(), chatKeys: chatKeys() };
}

import { CHAT_EVENT_SOURCE } from "@azuchi/core/contracts";
import { linkedBusName } from "@azuchi/core/links";
import { publisherOnFirstUse } from "@azuchi/core/event-bus";
import type { SubmitUserMessageDeps } from "@azuchi/core/repositories";
import { chatKeys, jobQueue, messageRate, messages, notifier } from "./deps.ts";

/*
 * putMessage's part of the composition root (deps.ts), in a module of its own: esbuild ships
 * the chunk an `import()` reaches with every bundle that holds the module, and deps.ts is in
 * every route's.
 */

/** MessagePosted for a USER message chat stored but could not queue, its one event: the bus is made then. */
const events = publisherOnFirstUse(CHAT_EVENT_SOURCE, linkedBusName);

/** What putMessage's use case (core's submitUserMessage) needs. */
export function submitDeps(): SubmitUserMessageDeps {
  return { messages: messages(), ...jobQueue(), notifier: notifier(), events, messageRate: messageRate(), chatKeys: chatKeys() };
}

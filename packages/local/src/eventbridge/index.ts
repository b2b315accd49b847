export { startEventBridge, UnknownEventBusError, type EventBridgeEmulator, type EventBridgeOptions, type EventBridgeRule, type PutEventsFault, type PutEventsFaults } from "./server.ts";
export { matchesEventPattern, validateEventPattern, InvalidEventPatternError, type EventPattern, type PatternEntry } from "./event-pattern.ts";
export { DeliveryFailedError, type EventTarget } from "./delivery.ts";
export { MAX_ENTRIES, MAX_ENTRIES_BYTES } from "./put-events.ts";
export type { EventBridgeEvent } from "aws-lambda";

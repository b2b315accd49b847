import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { EventDetails } from "./events.ts";
import { signingAndCachedMiddleware, withFastConfig } from "./aws-client-options.ts";
import type { PendingEvent } from "./pending-events.ts";

// The bus's client and publisher, apart from the events (pending-events.ts) and the other
// clients (aws-clients.ts): the code that publishes imports this module on its first use
// (event-bus.ts), so that with the functions split (stacks/defaults.ts) a cold start does not
// load the EventBridge client. A static import of it by what a cold start loads would undo that.

export function createEventBridgeClient(): EventBridgeClient {
  return withFastConfig(new EventBridgeClient({ ...signingAndCachedMiddleware }));
}

export class EventPublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EventPublishError";
  }
}

const MAX_ENTRIES_PER_CALL = 10;

/** Publishes azuchi's events on the bus, checking PutEvents' per-entry failures (it does not throw for them). */
export class EventPublisher {
  private readonly client: EventBridgeClient;
  private readonly busName: string;
  private readonly source: string;

  constructor(client: EventBridgeClient, busName: string, source: string) {
    this.client = client;
    this.busName = busName;
    this.source = source;
  }

  async publish(events: PendingEvent[]): Promise<void> {
    for (let start = 0; start < events.length; start += MAX_ENTRIES_PER_CALL) {
      const batch = events.slice(start, start + MAX_ENTRIES_PER_CALL);
      const result = await this.client.send(
        new PutEventsCommand({
          Entries: batch.map(({ detailType, detail, source }) => ({
            EventBusName: this.busName,
            Source: source ?? this.source,
            DetailType: detailType,
            Detail: JSON.stringify(EventDetails[detailType].parse(detail)),
          })),
        }),
      );
      if (result.FailedEntryCount) {
        const reasons = (result.Entries ?? [])
          .map((entry, i) => (entry.ErrorCode ? `${batch[i]?.detailType}: ${entry.ErrorCode} ${entry.ErrorMessage ?? ""}` : undefined))
          .filter(Boolean);
        throw new EventPublishError(`${result.FailedEntryCount} event(s) not published: ${reasons.join("; ")}`);
      }
    }
  }
}

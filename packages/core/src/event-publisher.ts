import { PutEventsCommand, type EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { CHAT_EVENT_SOURCE, EventDetails, type EventDetail, type EventDetailType } from "./events.ts";
import type { AgentJob } from "./job.ts";
import type { Message } from "./message.ts";

export class EventPublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EventPublishError";
  }
}

const MAX_ENTRIES_PER_CALL = 10;

export interface PendingEvent<T extends EventDetailType = EventDetailType> {
  detailType: T;
  detail: EventDetail<T>;
  /**
   * The service the event is of, when not the publisher's own: the agent's turn publishes the
   * MessagePosted of the USER message chat stored, as chat's (CHAT_EVENT_SOURCE).
   */
  source?: string;
}

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

/** The MessagePosted event of a stored message: ids and kinds, never its text. */
export function messagePosted(message: Message): PendingEvent<"MessagePosted"> {
  return {
    detailType: "MessagePosted",
    detail: {
      sessionId: message.sessionId,
      messageId: message.messageId,
      createdAt: message.createdAt,
      role: message.role,
      messageType: message.messageType,
      jobId: message.jobId,
    },
  };
}

/**
 * The MessagePosted of the USER message a job answers, as chat, which stored it, publishes it:
 * the turn of a job with `announce` sends it with its own events (one PutEvents a turn).
 */
export function questionPosted(job: Pick<AgentJob, "sessionId" | "messageId" | "createdAt">): PendingEvent<"MessagePosted"> {
  return {
    detailType: "MessagePosted",
    detail: { sessionId: job.sessionId, messageId: job.messageId, createdAt: job.createdAt, role: "USER", messageType: "CONVERSATION" },
    source: CHAT_EVENT_SOURCE,
  };
}

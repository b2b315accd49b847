import { CHAT_EVENT_SOURCE, type EventDetail, type EventDetailType } from "./events.ts";
import type { AgentJob } from "./job.ts";
import type { Message } from "./message.ts";

// The events as built before they are published, apart from the publisher (event-publisher.ts),
// which putMessage and generateChatReply import only when they publish.

export interface PendingEvent<T extends EventDetailType = EventDetailType> {
  detailType: T;
  detail: EventDetail<T>;
  /**
   * The service the event is of, when not the publisher's own: the agent's turn publishes the
   * MessagePosted of the USER message chat stored, as chat's (CHAT_EVENT_SOURCE).
   */
  source?: string;
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

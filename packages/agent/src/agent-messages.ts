import { agentMessageId, messagePosted, type AgentJob, type Message, type MessagesRepository, type MessageType, type PendingEvent } from "@azuchi/core";
import type { SessionChannel } from "./session-channel.ts";

/**
 * The messages one turn shows. Each is stored first, through the one messages repository,
 * then sent to every tab — a reload never lacks what a tab has seen. Ids come from the job
 * and the message's place in the turn, so a redelivered job rewrites nothing.
 */
export class TurnMessages {
  private readonly messages: MessagesRepository;
  private readonly channel: SessionChannel;
  private readonly job: AgentJob;
  /** MessagePosted events for what this turn stored, published by the turn. */
  readonly posted: PendingEvent<"MessagePosted">[] = [];
  /** Positions stored so far (whether or not every tab was reached): a reload shows them. */
  readonly stored = new Set<string>();

  constructor(messages: MessagesRepository, channel: SessionChannel, job: AgentJob) {
    this.messages = messages;
    this.channel = channel;
    this.job = job;
  }

  idFor(position: string): string {
    return agentMessageId(this.job.jobId, position);
  }

  async post(position: string, messageType: MessageType, text: string, extra: Partial<Pick<Message, "payload" | "stopped">> = {}): Promise<Message> {
    const { message, created } = await this.messages.put({
      sessionId: this.job.sessionId,
      messageId: this.idFor(position),
      createdAt: Date.now(),
      role: messageType === "SYSTEM_LOG" ? "SYSTEM" : "AGENT",
      messageType,
      message: text,
      jobId: this.job.jobId,
      ...extra,
    }, { after: this.job.createdAt });
    this.stored.add(position);
    await this.channel.sendMessage(message);
    // A retried turn re-sends what it had stored, but its event was published the first time.
    if (created) this.posted.push(messagePosted(message));
    return message;
  }
}

import { agentMessageId, messagePosted, type AgentJob, type Message, type MessagesRepository, type MessageType, type PendingEvent, type StoredMessage } from "@azuchi/core";
import type { SessionChannel } from "./session-channel.ts";

/**
 * The messages one turn shows. Each is stored first, through the one messages repository,
 * then sent to every tab — a reload never lacks what a tab has seen. Ids come from the job
 * and the message's place in the turn, so a redelivered job rewrites nothing. The session's
 * summary is updated once for all of the turn's messages, not once each: in the reply's own
 * request (`withSummary`), or by touchSession for what no such request counted.
 */
export class TurnMessages {
  private readonly messages: MessagesRepository;
  private readonly channel: SessionChannel;
  private readonly job: AgentJob;
  /** MessagePosted events for what this turn stored, published by the turn. */
  readonly posted: PendingEvent<"MessagePosted">[] = [];
  /** Positions stored so far (whether or not every tab was reached): a reload shows them. */
  readonly stored = new Set<string>();
  /** Messages stored but not yet counted in the session's summary. */
  private untouched = { count: 0, latest: 0 };
  /** The messageIds a failed delivery of the job announced (job-announced.ts), read only when a message is found stored. */
  private readonly announced: () => Promise<Set<string>>;

  constructor(messages: MessagesRepository, channel: SessionChannel, job: AgentJob, announced: () => Promise<Set<string>>) {
    this.messages = messages;
    this.channel = channel;
    this.job = job;
    this.announced = announced;
  }

  idFor(position: string): string {
    return agentMessageId(this.job.jobId, position);
  }

  /**
   * Stores a message without showing it; `created` is false when an earlier delivery stored it.
   * `withSummary`: the session's summary is updated in the message's own request, counting the
   * turn's messages stored before it (the reply: one request for the message and the summary).
   */
  async store(position: string, messageType: MessageType, text: string, extra: Partial<Pick<Message, "payload" | "stopped">> = {}, options: { withSummary?: boolean } = {}): Promise<StoredMessage> {
    const { count, latest } = this.untouched;
    const stored = await this.messages.put({
      sessionId: this.job.sessionId,
      messageId: this.idFor(position),
      createdAt: Date.now(),
      role: messageType === "SYSTEM_LOG" ? "SYSTEM" : "AGENT",
      messageType,
      message: text,
      jobId: this.job.jobId,
      ...extra,
    }, { after: this.job.createdAt, ...(options.withSummary ? { touch: "with-message", alsoCount: { count, latest } } : { touch: false }) });
    this.stored.add(position);
    // A retried turn re-sends what it had stored, but its event was published (and the session
    // touched) the first time: unless that delivery crashed outright, which announced nothing.
    if (stored.created || !(await this.announced()).has(stored.message.messageId)) this.posted.push(messagePosted(stored.message));
    if (stored.created) {
      if (options.withSummary) {
        // Counted with it: what was stored since counts on.
        const remaining = this.untouched.count - count;
        this.untouched = remaining > 0 ? { count: remaining, latest: this.untouched.latest } : { count: 0, latest: 0 };
      } else {
        this.untouched = { count: this.untouched.count + 1, latest: Math.max(this.untouched.latest, stored.message.createdAt) };
      }
    }
    return stored;
  }

  async show(message: Message): Promise<void> {
    await this.channel.sendMessage(message);
  }

  async post(position: string, messageType: MessageType, text: string, extra: Partial<Pick<Message, "payload" | "stopped">> = {}, options: { withSummary?: boolean } = {}): Promise<Message> {
    const { message } = await this.store(position, messageType, text, extra, options);
    await this.show(message);
    return message;
  }

  /** Counts the messages stored so far in the session's summary (`updatedAt`, `messageCount`), in one update. */
  async touchSession(): Promise<void> {
    const { count, latest } = this.untouched;
    this.untouched = { count: 0, latest: 0 };
    try {
      await this.messages.touchSession(this.job.sessionId, latest, count);
    } catch (error) {
      // Counted again by the next call (the turn's end tries once more).
      this.untouched = { count: this.untouched.count + count, latest: Math.max(this.untouched.latest, latest) };
      throw error;
    }
  }
}

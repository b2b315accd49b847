import type { SessionChannel } from "./session-channel.ts";

export interface DeltaStreamOptions {
  /** Flush at least this often while text arrives. */
  intervalMs?: number;
  /** Flush at once when this many characters are waiting. */
  maxChars?: number;
  /** Deltas are best effort (the stored reply is what counts): a failed send is reported here. */
  onError?: (error: unknown) => void;
  /**
   * Deltas wait for this: the frames the protocol shows before the reply (the turn's first
   * AGENT_LOG) may still be on their way while the model already streams. False cancels the
   * stream (nothing is sent), as cancel() does.
   */
  startAfter?: Promise<boolean>;
}

/**
 * Coalesces streamed text into `delta` frames — every 50 ms or 200 characters, never one
 * PostToConnection per token — sent in order, each with its offset in the whole reply. The
 * first text goes at once: the time to the first token is what a user waits for, and the
 * coalescing only pays once text flows. The text still waiting when the model is done is not
 * sent as a delta: the stored reply's `message` frame, which replaces the deltas, follows at
 * once with the whole text (one PostToConnection a tab fewer, and the reply is stored without
 * waiting for that post).
 */
export class DeltaStream {
  private readonly channel: SessionChannel;
  private readonly messageId: string;
  private readonly intervalMs: number;
  private readonly maxChars: number;
  private readonly onError: (error: unknown) => void;
  private text = "";
  private sentUpTo = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void>;
  private closed = false;
  /** Set by cancel(): deltas queued but not yet sent are dropped too. */
  private cancelled = false;

  constructor(channel: SessionChannel, messageId: string, options: DeltaStreamOptions = {}) {
    this.channel = channel;
    this.messageId = messageId;
    this.intervalMs = options.intervalMs ?? 50;
    this.maxChars = options.maxChars ?? 200;
    this.onError = options.onError ?? (() => undefined);
    this.sending = (options.startAfter ?? Promise.resolve(true)).then(
      (go) => void (go || this.drop()),
      () => this.drop(),
    );
  }

  /** Everything pushed so far. */
  get fullText(): string {
    return this.text;
  }

  push(delta: string): void {
    if (this.closed) return;
    const first = this.text.length === 0;
    this.text += delta;
    if (first || this.text.length - this.sentUpTo >= this.maxChars) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  /**
   * Closes the stream, resolves when every delta sent so far has been posted, and gives the
   * whole text. What is waiting is not sent: the stored reply's message carries it.
   */
  async finish(): Promise<string> {
    this.close();
    await this.sending;
    return this.text;
  }

  /** Closes the stream without sending what is waiting: the turn failed, and its retry streams afresh. */
  async cancel(): Promise<void> {
    this.drop();
    await this.sending;
  }

  /** No more text is taken and nothing waiting is sent; deltas already queued still go. */
  private close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.closed = true;
  }

  /** Closed, and the deltas queued but not yet sent are dropped too. */
  private drop(): void {
    this.close();
    this.cancelled = true;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.sentUpTo >= this.text.length) return;
    const offset = this.sentUpTo;
    const delta = this.text.slice(offset);
    this.sentUpTo = this.text.length;
    this.sending = this.sending.then(() =>
      this.cancelled ? undefined : this.channel.send({ type: "delta", messageId: this.messageId, offset, delta }).catch((error: unknown) => this.onError(error)),
    );
  }
}

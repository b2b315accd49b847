import type { SessionChannel } from "./session-channel.ts";

export interface DeltaStreamOptions {
  /** Flush at least this often while text arrives. */
  intervalMs?: number;
  /** Flush at once when this many characters are waiting. */
  maxChars?: number;
  /** Deltas are best effort (the stored reply is what counts): a failed send is reported here. */
  onError?: (error: unknown) => void;
}

/**
 * Coalesces streamed text into `delta` frames — every 50 ms or 200 characters, never one
 * PostToConnection per token — sent in order, each with its offset in the whole reply.
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
  private sending: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(channel: SessionChannel, messageId: string, options: DeltaStreamOptions = {}) {
    this.channel = channel;
    this.messageId = messageId;
    this.intervalMs = options.intervalMs ?? 50;
    this.maxChars = options.maxChars ?? 200;
    this.onError = options.onError ?? (() => undefined);
  }

  /** Everything pushed so far. */
  get fullText(): string {
    return this.text;
  }

  push(delta: string): void {
    if (this.closed) return;
    this.text += delta;
    if (this.text.length - this.sentUpTo >= this.maxChars) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Sends what is waiting, resolves when every delta so far has been posted, and closes the stream. */
  async finish(): Promise<string> {
    this.flush();
    this.closed = true;
    await this.sending;
    return this.text;
  }

  /** Closes the stream without sending what is waiting: the turn failed, and its retry streams afresh. */
  async cancel(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.closed = true;
    await this.sending;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.sentUpTo >= this.text.length) return;
    const offset = this.sentUpTo;
    const delta = this.text.slice(offset);
    this.sentUpTo = this.text.length;
    this.sending = this.sending.then(() =>
      this.channel.send({ type: "delta", messageId: this.messageId, offset, delta }).catch((error: unknown) => this.onError(error)),
    );
  }
}

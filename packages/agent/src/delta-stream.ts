import type { SessionChannel } from "./session-channel.ts";

export interface DeltaStreamOptions {
  /** Flush at least this often while text arrives. */
  intervalMs?: number;
  /** Flush at once when this many characters are waiting. */
  maxChars?: number;
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
  private text = "";
  private sentUpTo = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(channel: SessionChannel, messageId: string, options: DeltaStreamOptions = {}) {
    this.channel = channel;
    this.messageId = messageId;
    this.intervalMs = options.intervalMs ?? 50;
    this.maxChars = options.maxChars ?? 200;
  }

  /** Everything pushed so far. */
  get fullText(): string {
    return this.text;
  }

  push(delta: string): void {
    if (this.failure) throw this.failure;
    this.text += delta;
    if (this.text.length - this.sentUpTo >= this.maxChars) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Sends what is waiting and resolves when every delta so far has been posted. */
  async finish(): Promise<string> {
    this.flush();
    await this.sending;
    if (this.failure) throw this.failure;
    return this.text;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.sentUpTo >= this.text.length) return;
    const offset = this.sentUpTo;
    const delta = this.text.slice(offset);
    this.sentUpTo = this.text.length;
    this.sending = this.sending.then(async () => {
      if (this.failure) return;
      await this.channel.send({ type: "delta", messageId: this.messageId, offset, delta }).catch((error: unknown) => {
        this.failure = error;
      });
    });
  }
}

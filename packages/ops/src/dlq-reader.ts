import { ChangeMessageVisibilityBatchCommand, DeleteMessageCommand, ReceiveMessageCommand, type Message } from "@aws-sdk/client-sqs";
import { toDeadLetter, type DeadLetter } from "./dead-letter.ts";
import { queueCounts, type Target } from "./target.ts";
import { call } from "./sqs-calls.ts";

export interface HeldLetter extends DeadLetter {
  receiptHandle: string;
}

export interface ReaderOptions {
  /** How long a received dead letter stays hidden from others while azuchi-ops holds it; renewed while held. */
  holdSeconds: number;
  /** How long to wait for dead letters in flight that are not ours (an interrupted run's, another reader's) to come back. */
  waitForInFlightSeconds: number;
  /** Told when the reader waits on others' in-flight letters. */
  onWait?: (inFlight: number) => void;
}

/**
 * Empty long polls in a row, with letters visible, before the reader takes those letters for
 * held back (their group blocked by letters in flight) rather than missed: a receive's
 * emptiness is SQS's answer only for a long poll, and even then it is asked again.
 */
const EMPTY_POLLS_WHILE_VISIBLE = 3;

/**
 * Reads the dead-letter queue without losing a message: everything received is hidden for
 * `holdSeconds` (renewed while held) and, unless deleted, handed back with visibility 0 on
 * release(). If azuchi-ops dies, SQS returns what it held after `holdSeconds`.
 *
 * FIFO: SQS hands out nothing more of a message group while some of it is in flight, so a
 * group's later letters appear only after its received ones are deleted (replay does) — a
 * read-only pass reports how many it could not see (`hidden`).
 */
export class DlqReader {
  readonly held = new Map<string, HeldLetter>();
  private readonly renew: NodeJS.Timeout;
  private readonly target: Target;
  private readonly options: ReaderOptions;
  private renewing: Promise<void> = Promise.resolve();

  constructor(target: Target, options: ReaderOptions) {
    this.target = target;
    this.options = options;
    this.renew = setInterval(() => {
      this.renewing = this.changeVisibility([...this.held.values()], this.options.holdSeconds).catch(() => undefined);
    }, Math.max(500, (options.holdSeconds * 1000) / 3));
    this.renew.unref();
  }

  /**
   * The next letters SQS hands out, or [] when the queue has nothing more to give: none visible
   * and, after waiting up to waitForInFlightSeconds, none in flight but ours.
   */
  async next(): Promise<HeldLetter[]> {
    const waitUntil = Date.now() + this.options.waitForInFlightSeconds * 1000;
    let told = false;
    let emptyPolls = 0;
    for (;;) {
      const url = this.target.dlq.url;
      const { Messages = [] } = await call("ReceiveMessage", url, () =>
        this.target.sqs.send(new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: this.options.holdSeconds,
          // A short poll (0) asks only some of SQS's servers and may answer nothing while letters
          // are there; a long poll asks them all.
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        })),
      );
      if (Messages.length > 0) {
        try {
          return Messages.map((message) => this.hold(message));
        } catch (error) {
          // Never keep hidden what could not be read: back to the queue at once.
          await this.changeVisibility(Messages.map((message) => ({ receiptHandle: message.ReceiptHandle ?? "" })), 0).catch(() => undefined);
          for (const message of Messages) this.held.delete(message.MessageId ?? "");
          throw error;
        }
      }
      const counts = await queueCounts(this.target, this.target.dlq);
      if (counts.visible > 0 && ++emptyPolls < EMPTY_POLLS_WHILE_VISIBLE) continue;
      const othersInFlight = counts.inFlight - this.held.size;
      if (othersInFlight <= 0 && counts.delayed === 0) return [];
      if (Date.now() >= waitUntil) return [];
      if (!told) this.options.onWait?.(othersInFlight);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Everything the queue hands out, held; `hidden` counts letters SQS kept back (their group is held). */
  async readAll(): Promise<{ letters: HeldLetter[]; hidden: number }> {
    const letters: HeldLetter[] = [];
    for (let batch = await this.next(); batch.length > 0; batch = await this.next()) letters.push(...batch);
    return { letters, hidden: await this.heldBack() };
  }

  /**
   * Letters visible that SQS does not hand out: behind letters of their group in flight (held
   * by this reader, or another's). Asked while holding, before release; approximate on AWS.
   */
  async heldBack(): Promise<number> {
    return (await queueCounts(this.target, this.target.dlq)).visible;
  }

  async delete(letter: HeldLetter): Promise<void> {
    const url = this.target.dlq.url;
    await call("DeleteMessage", url, () => this.target.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: letter.receiptHandle })));
    this.held.delete(letter.messageId);
  }

  /** Hands letters back to the queue at once (visibility 0). */
  async release(letters: HeldLetter[] = [...this.held.values()]): Promise<void> {
    await this.changeVisibility(letters, 0);
    for (const letter of letters) this.held.delete(letter.messageId);
  }

  /** Releases everything still held; call on every way out (finally). */
  async close(): Promise<void> {
    clearInterval(this.renew);
    await this.renewing;
    await this.release();
  }

  private hold(message: Message): HeldLetter {
    const letter = { ...toDeadLetter(message), receiptHandle: message.ReceiptHandle ?? "" };
    this.held.set(letter.messageId, letter);
    return letter;
  }

  private async changeVisibility(letters: Pick<HeldLetter, "receiptHandle">[], seconds: number): Promise<void> {
    const url = this.target.dlq.url;
    for (let start = 0; start < letters.length; start += 10) {
      const entries = letters.slice(start, start + 10).map((letter, i) => ({ Id: String(i), ReceiptHandle: letter.receiptHandle, VisibilityTimeout: seconds }));
      await call("ChangeMessageVisibility", url, () => this.target.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: entries })));
    }
  }
}

import { spawn } from "node:child_process";
import { once } from "node:events";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import {
  CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, GetQueueUrlCommand, QueueDoesNotExist, ReceiveMessageCommand, SendMessageCommand,
  SQSClient, StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import type { Message, ReceiveMessageCommandInput } from "@aws-sdk/client-sqs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startSqsEmulator } from "@azuchi/local/sqs";
import type { SqsEmulator } from "@azuchi/local/sqs";

// The emulator's clock runs `skewMs` ahead of real time; tests move it instead of sleeping.
let skewMs = 0;
const now = () => Date.now() + skewMs;
let dataDir: string;
let emulator: SqsEmulator | undefined;
let client: SQSClient | undefined;

const clientFor = (endpoint: string) =>
  new SQSClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });

/** Stops the emulator (if running) and starts a new one on the same data folder. */
async function restart(): Promise<SQSClient> {
  client?.destroy();
  await emulator?.close();
  emulator = await startSqsEmulator({ dataDir, now });
  client = clientFor(emulator.endpoint);
  return client;
}

beforeEach(async () => {
  skewMs = 0;
  dataDir = mkdtempSync(join(tmpdir(), "azuchi-sqs-"));
  await restart();
});

afterEach(async () => {
  client?.destroy();
  await emulator?.close();
  client = undefined;
  emulator = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

const sqs = () => client!;

async function createFifo(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const output = await sqs().send(new CreateQueueCommand({ QueueName: `${name}.fifo`, Attributes: { FifoQueue: "true", ...attributes } }));
  return output.QueueUrl!;
}

let dedupCounter = 0;
const send = (queueUrl: string, body: string, group: string, deduplicationId = `d${++dedupCounter}`) =>
  sqs().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: deduplicationId }));

async function receive(queueUrl: string, input: Partial<ReceiveMessageCommandInput> = {}): Promise<Message[]> {
  const output = await sqs().send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["All"], ...input }));
  return output.Messages ?? [];
}

const bodies = (messages: Message[]) => messages.map((message) => message.Body);

async function attributes(queueUrl: string) {
  return (await sqs().send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }))).Attributes ?? {};
}

/** Receives one at a time, deleting each, until the queue has nothing receivable: the order a consumer sees. */
async function drain(queueUrl: string): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const [message] = await receive(queueUrl, { MaxNumberOfMessages: 1 });
    if (message === undefined) return seen;
    seen.push(message.Body!);
    await sqs().send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
  }
}

describe("SQS emulator with a data folder: a restart keeps what it held", () => {
  it("keeps queues with their attributes and their messages, in send order per group", async () => {
    const queueUrl = await createFifo("kept", { VisibilityTimeout: "77", ContentBasedDeduplication: "true" });
    for (const body of ["a1", "b1", "a2", "b2", "a3"]) await send(queueUrl, body, body[0]!);
    const before = await attributes(queueUrl);

    await restart();
    const after = await attributes(queueUrl);
    expect(after).toMatchObject({ VisibilityTimeout: "77", ContentBasedDeduplication: "true", ApproximateNumberOfMessages: "5" });
    expect(after.QueueArn).toBe(before.QueueArn);
    expect(after.CreatedTimestamp).toBe(before.CreatedTimestamp);
    const seen = await drain(queueUrl);
    expect(seen.filter((body) => body.startsWith("a"))).toEqual(["a1", "a2", "a3"]);
    expect(seen.filter((body) => body.startsWith("b"))).toEqual(["b1", "b2"]);
  });

  it("makes messages in flight at the stop visible again at start, once each, their receive count kept and old receipt handles refused", async () => {
    const queueUrl = await createFifo("in-flight", { VisibilityTimeout: "600" });
    await send(queueUrl, "g1-first", "g1");
    await send(queueUrl, "g1-second", "g1");
    await send(queueUrl, "g2-only", "g2");
    const [firstReceive] = await receive(queueUrl, { MaxNumberOfMessages: 1 });
    expect(firstReceive?.Body).toBe("g1-first");
    await sqs().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "g1-after", MessageGroupId: "g1", MessageDeduplicationId: "after" }));
    const inFlight = await receive(queueUrl);
    expect(bodies(inFlight)).toEqual(["g2-only"]);
    expect((await attributes(queueUrl)).ApproximateNumberOfMessagesNotVisible).toBe("2");

    await restart();
    expect(await attributes(queueUrl)).toMatchObject({ ApproximateNumberOfMessagesNotVisible: "0", ApproximateNumberOfMessages: "4" });
    // Visible at once, well within the 600 s visibility they were received with.
    const again = await receive(queueUrl);
    expect(bodies(again)).toEqual(["g1-first", "g1-second", "g1-after", "g2-only"]);
    const receiveCounts = Object.fromEntries(again.map((message) => [message.Body, message.Attributes?.ApproximateReceiveCount]));
    expect(receiveCounts).toEqual({ "g1-first": "2", "g1-second": "1", "g1-after": "1", "g2-only": "2" });
    // Once each: now they are in flight to this receive, and nothing is handed out twice.
    expect(await receive(queueUrl)).toEqual([]);
    await expect(sqs().send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: firstReceive!.ReceiptHandle }))).rejects.toThrow(/receipt handle has expired/);
  });

  it("never brings back a message deleted before the stop", async () => {
    const queueUrl = await createFifo("deleted");
    await send(queueUrl, "done", "g");
    await send(queueUrl, "pending", "g");
    const [message] = await receive(queueUrl, { MaxNumberOfMessages: 1 });
    await sqs().send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message!.ReceiptHandle }));

    await restart();
    expect(await drain(queueUrl)).toEqual(["pending"]);
  });

  it("remembers deduplication ids for their 5-minute window across a restart, and forgets them after it", async () => {
    const queueUrl = await createFifo("dedup");
    const first = await send(queueUrl, "once", "g", "same-id");

    await restart();
    const repeated = await send(queueUrl, "once", "g", "same-id");
    expect(repeated.MessageId).toBe(first.MessageId);
    expect(repeated.SequenceNumber).toBe(first.SequenceNumber);
    expect((await attributes(queueUrl)).ApproximateNumberOfMessages).toBe("1");

    skewMs += 5 * 60 * 1000 + 1;
    await restart();
    const later = await send(queueUrl, "once", "g", "same-id");
    expect(later.MessageId).not.toBe(first.MessageId);
    expect(BigInt(later.SequenceNumber!)).toBeGreaterThan(BigInt(first.SequenceNumber!));
    expect((await attributes(queueUrl)).ApproximateNumberOfMessages).toBe("2");
  });

  it("keeps the dead-letter queue's contents and can move them back after a restart", async () => {
    const deadLetterUrl = await createFifo("jobs-dlq");
    const deadLetterArn = (await attributes(deadLetterUrl)).QueueArn!;
    const queueUrl = await createFifo("jobs", { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterArn, maxReceiveCount: 1 }) });
    const { MessageId } = await send(queueUrl, "poison", "g");
    await receive(queueUrl, { VisibilityTimeout: 0 });
    // The second receive finds it past maxReceiveCount and moves it.
    expect(await receive(queueUrl)).toEqual([]);

    await restart();
    const [dead] = await receive(deadLetterUrl, { VisibilityTimeout: 0 });
    expect(dead).toMatchObject({ MessageId, Body: "poison", Attributes: { ApproximateReceiveCount: "2", DeadLetterQueueSourceArn: (await attributes(queueUrl)).QueueArn } });
    await sqs().send(new StartMessageMoveTaskCommand({ SourceArn: deadLetterArn }));

    await restart();
    expect(await drain(queueUrl)).toEqual(["poison"]);
    expect(await receive(deadLetterUrl)).toEqual([]);
  });

  it("hands out sequence numbers above every one handed out before the restart", async () => {
    const queueUrl = await createFifo("sequence");
    const before = await send(queueUrl, "before", "g");
    await restart();
    const after = await send(queueUrl, "after", "g");
    expect(BigInt(after.SequenceNumber!)).toBeGreaterThan(BigInt(before.SequenceNumber!));
  });

  it("keeps messages across a snapshot of the journal (more than 8 MiB written)", async () => {
    const queueUrl = await createFifo("large");
    const big = (index: number) => `${index}:${"x".repeat(1_000_000)}`;
    for (let index = 0; index < 10; index += 1) await send(queueUrl, big(index), "g");
    await restart();
    const seen = await drain(queueUrl);
    expect(seen.map((body) => body.split(":")[0])).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(seen.every((body, index) => body === big(index))).toBe(true);
  });

  it("drops a journal line cut short by a crash and refuses a data folder it cannot read", async () => {
    const queueUrl = await createFifo("torn");
    await send(queueUrl, "kept", "g");
    client!.destroy();
    await emulator!.close();
    emulator = undefined;
    const journal = readdirSync(dataDir).find((name) => name.startsWith("journal-"))!;
    appendFileSync(join(dataDir, journal), '{"op":"put","queue":"torn.fifo","mess');
    await restart();
    expect(await drain(queueUrl)).toEqual(["kept"]);

    client!.destroy();
    await emulator!.close();
    emulator = undefined;
    writeFileSync(join(dataDir, "snapshot.json"), readFileSync(join(dataDir, "snapshot.json"), "utf8").replace('"version":1', '"version":"one"'));
    await expect(startSqsEmulator({ dataDir })).rejects.toThrow(/cannot be read/);
  });

  it("keeps nothing without a data folder", async () => {
    const startEphemeral = async () => {
      const started = await startSqsEmulator();
      return { emulator: started, client: clientFor(started.endpoint) };
    };
    const first = await startEphemeral();
    await first.client.send(new CreateQueueCommand({ QueueName: "gone.fifo", Attributes: { FifoQueue: "true" } }));
    first.client.destroy();
    await first.emulator.close();
    const second = await startEphemeral();
    await expect(second.client.send(new GetQueueUrlCommand({ QueueName: "gone.fifo" }))).rejects.toBeInstanceOf(QueueDoesNotExist);
    second.client.destroy();
    await second.emulator.close();
  });
});

describe("SQS emulator killed with SIGKILL", () => {
  const processScript = fileURLToPath(new URL("./sqs-emulator-process.ts", import.meta.url));

  async function startProcess(): Promise<{ endpoint: string; kill(): Promise<void> }> {
    const child = spawn(process.execPath, [processScript, dataDir], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const line = await Promise.race([
      once(createInterface({ input: child.stdout }), "line").then(([text]) => text as string),
      exited.then(() => { throw new Error("the emulator process exited before it listened"); }),
    ]);
    return {
      endpoint: (JSON.parse(line) as { endpoint: string }).endpoint,
      async kill() {
        child.kill("SIGKILL");
        await exited;
      },
    };
  }

  it("loses no acknowledged SendMessage and brings back no acknowledged DeleteMessage", async () => {
    client!.destroy();
    await emulator!.close();
    emulator = undefined;
    const child = await startProcess();
    const remote = clientFor(child.endpoint);
    const { QueueUrl } = await remote.send(new CreateQueueCommand({ QueueName: "crash.fifo", Attributes: { FifoQueue: "true" } }));
    const acknowledged = new Set<string>();
    const deleted = new Set<string>();
    // Deletes sent but not answered when the process died: they may or may not have happened.
    const deleting = new Set<string>();
    let stop = false;
    // Eight senders, each its own group, sending and deleting as fast as they can until the kill.
    const workers = Array.from({ length: 8 }, async (_, worker) => {
      for (let index = 0; !stop; index += 1) {
        const body = `w${worker}-${index}`;
        try {
          await remote.send(new SendMessageCommand({ QueueUrl, MessageBody: body, MessageGroupId: `w${worker}`, MessageDeduplicationId: body }));
          acknowledged.add(body);
          if (index % 2 === 1) {
            const output = await remote.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 600 }));
            const message = output.Messages?.[0];
            if (message === undefined) continue;
            deleting.add(message.Body!);
            await remote.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
            deleting.delete(message.Body!);
            deleted.add(message.Body!);
          }
        } catch {
          return; // the process is gone: this request got no answer
        }
      }
    });
    await expect.poll(() => acknowledged.size, { timeout: 20_000 }).toBeGreaterThan(200);
    await child.kill();
    stop = true;
    await Promise.all(workers);
    remote.destroy();

    await restart();
    const kept = new Set<string>();
    for (;;) {
      const messages = await receive(QueueUrl!);
      if (messages.length === 0) break;
      for (const message of messages) {
        expect(kept.has(message.Body!)).toBe(false);
        kept.add(message.Body!);
        await sqs().send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
    const lost = [...acknowledged].filter((body) => !kept.has(body) && !deleted.has(body) && !deleting.has(body));
    const returned = [...deleted].filter((body) => kept.has(body));
    expect({ lost, returned }).toEqual({ lost: [], returned: [] });
    expect(deleted.size).toBeGreaterThan(0);
  });
});

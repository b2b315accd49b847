import {
  ChangeMessageVisibilityCommand, CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InvalidBatchItemFailureError, startSqsPoller } from "@azuchi/local/runtime";
import type { SqsPoller, SqsPollerOptions } from "@azuchi/local/runtime";
import { inProcessTransport, startSqsEmulator } from "@azuchi/local/sqs";
import type { SqsEmulator } from "@azuchi/local/sqs";

let emulator: SqsEmulator;
let client: SQSClient;
let queueCounter = 0;
const pollers: SqsPoller[] = [];

beforeAll(async () => {
  emulator = await startSqsEmulator();
  client = new SQSClient({ endpoint: emulator.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
});

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
});

afterAll(async () => {
  client?.destroy();
  await emulator?.close();
});

async function createFifo(base: string, attributes: Record<string, string> = {}): Promise<{ queueUrl: string; queueArn: string }> {
  const output = await client.send(new CreateQueueCommand({
    QueueName: `${base}-${++queueCounter}.fifo`,
    Attributes: { FifoQueue: "true", ContentBasedDeduplication: "true", ...attributes },
  }));
  const queueUrl = output.QueueUrl!;
  const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }));
  return { queueUrl, queueArn: Attributes!.QueueArn! };
}

async function send(queueUrl: string, body: string, group: string): Promise<string> {
  const output = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: group }));
  return output.MessageId!;
}

/** The poller's calls: through the SDK and HTTP (as `sst dev` polls SQS), or in process (as the local stack polls its emulator). */
type Transport = "sdk" | "in-process";
let transport: Transport = "sdk";
const pollerClient = () => (transport === "sdk" ? client : inProcessTransport(emulator));

function poll(options: Omit<SqsPollerOptions, "client">): SqsPoller {
  const poller = startSqsPoller({ client: pollerClient(), ...options });
  pollers.push(poller);
  return poller;
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bodiesOf = (event: SQSEvent) => event.Records.map((record) => record.body);

async function messageCounts(queueUrl: string) {
  const { Attributes } = await client.send(new GetQueueAttributesCommand({
    QueueUrl: queueUrl,
    AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
  }));
  return Attributes;
}

describe.each<Transport>(["sdk", "in-process"])("SQS poller (Lambda event source mapping), calls %s", (kind) => {
  beforeAll(() => void (transport = kind));

  it("invokes the handler with records in Lambda's SQS event shape and deletes them after success", async () => {
    const { queueUrl, queueArn } = await createFifo("shape");
    const messageId = (await client.send(new SendMessageCommand({
      QueueUrl: queueUrl, MessageBody: "hello", MessageGroupId: "session-1",
      MessageAttributes: { jobType: { DataType: "String", StringValue: "turn" }, blob: { DataType: "Binary", BinaryValue: Uint8Array.of(1, 2, 3) } },
    }))).MessageId;
    const events: SQSEvent[] = [];
    poll({ queueUrl, queueArn, invoke: async (event) => void events.push(event) });
    await waitFor(() => events.length === 1);
    const record: SQSRecord = events[0]!.Records[0]!;
    expect(record).toEqual({
      messageId,
      receiptHandle: expect.any(String),
      body: "hello",
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: expect.stringMatching(/^\d{13}$/),
        SenderId: "000000000000",
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
        SequenceNumber: expect.stringMatching(/^\d{20}$/),
        MessageGroupId: "session-1",
        MessageDeduplicationId: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
      messageAttributes: {
        jobType: { stringValue: "turn", stringListValues: [], binaryListValues: [], dataType: "String" },
        blob: { binaryValue: "AQID", stringListValues: [], binaryListValues: [], dataType: "Binary" },
      },
      md5OfBody: "5d41402abc4b2a76b9719d911017c592",
      md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
      eventSource: "aws:sqs",
      eventSourceARN: queueArn,
      awsRegion: "us-east-1",
    });
    await expect.poll(() => messageCounts(queueUrl)).toEqual({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
  });

  it("deletes the records not listed in batchItemFailures and delivers the listed ones again", async () => {
    const { queueUrl, queueArn } = await createFifo("partial", { VisibilityTimeout: "1" });
    for (const body of ["1", "2", "3"]) await send(queueUrl, body, "g");
    const calls: { bodies: string[]; counts: string[] }[] = [];
    poll({
      queueUrl, queueArn,
      invoke: async (event): Promise<SQSBatchResponse> => {
        calls.push({ bodies: bodiesOf(event), counts: event.Records.map((record) => record.attributes.ApproximateReceiveCount) });
        // Fails the second record and, as a FIFO handler must, every later one of its group.
        if (calls.length === 1) return { batchItemFailures: event.Records.slice(1).map((record) => ({ itemIdentifier: record.messageId })) };
        return { batchItemFailures: [] };
      },
    });
    await waitFor(() => calls.length === 2);
    expect(calls).toEqual([{ bodies: ["1", "2", "3"], counts: ["1", "1", "1"] }, { bodies: ["2", "3"], counts: ["2", "2"] }]);
    await expect.poll(() => messageCounts(queueUrl)).toEqual({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
  });

  it("returns the whole batch when the handler throws", async () => {
    const { queueUrl, queueArn } = await createFifo("throws", { VisibilityTimeout: "1" });
    const ids = [await send(queueUrl, "a", "g"), await send(queueUrl, "b", "g")];
    const seen: string[][] = [];
    const errors: unknown[] = [];
    poll({
      queueUrl, queueArn,
      onError: (error) => errors.push(error),
      invoke: async (event) => {
        seen.push(event.Records.map((record) => record.messageId));
        if (seen.length === 1) throw new Error("handler failed");
      },
    });
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual([ids, ids]);
    expect(errors).toEqual([new Error("handler failed")]);
  });

  it("fails the whole batch when an itemIdentifier is not a messageId of the batch", async () => {
    const { queueUrl, queueArn } = await createFifo("bad-identifier", { VisibilityTimeout: "1" });
    await send(queueUrl, "a", "g1");
    await send(queueUrl, "b", "g2");
    const seen: string[][] = [];
    const errors: unknown[] = [];
    poll({
      queueUrl, queueArn,
      onError: (error) => errors.push(error),
      invoke: async (event) => {
        seen.push(bodiesOf(event));
        return seen.length === 1 ? { batchItemFailures: [{ itemIdentifier: "not-in-batch" }] } : undefined;
      },
    });
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual([["a", "b"], ["a", "b"]]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(InvalidBatchItemFailureError);
  });

  it("processes different message groups concurrently", async () => {
    const { queueUrl, queueArn } = await createFifo("concurrent");
    await send(queueUrl, "a1", "a");
    const started: string[] = [];
    poll({
      queueUrl, queueArn,
      invoke: async (event) => {
        started.push(...bodiesOf(event));
        // Group a's turn is held open until group b's has started: only possible if they overlap.
        if (bodiesOf(event).includes("a1")) await waitFor(() => started.includes("b1"));
      },
    });
    await waitFor(() => started.includes("a1"));
    await send(queueUrl, "b1", "b");
    await waitFor(() => started.includes("b1"));
    await expect.poll(() => messageCounts(queueUrl)).toEqual({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
  });

  it("never processes a group concurrently with itself and keeps each group in send order", async () => {
    const { queueUrl, queueArn } = await createFifo("per-group");
    const expected = { a: ["a1", "a2", "a3", "a4", "a5"], b: ["b1", "b2", "b3", "b4", "b5"] };
    for (let i = 0; i < 5; i += 1) {
      await send(queueUrl, expected.a[i]!, "a");
      await send(queueUrl, expected.b[i]!, "b");
    }
    const active = new Map<string, number>();
    let overlapsWithinGroup = 0;
    const processed: Record<string, string[]> = { a: [], b: [] };
    poll({
      queueUrl, queueArn, batchSize: 2,
      invoke: async (event) => {
        const groups = [...new Set(event.Records.map((record) => record.attributes.MessageGroupId!))];
        for (const group of groups) {
          if ((active.get(group) ?? 0) > 0) overlapsWithinGroup += 1;
          active.set(group, (active.get(group) ?? 0) + 1);
        }
        await sleep(20);
        for (const record of event.Records) processed[record.attributes.MessageGroupId!]!.push(record.body);
        for (const group of groups) active.set(group, active.get(group)! - 1);
      },
    });
    await waitFor(() => processed.a!.length + processed.b!.length === 10);
    expect(processed).toEqual(expected);
    expect(overlapsWithinGroup).toBe(0);
  });

  it("moves a message to the dead-letter queue after maxReceiveCount failed invocations", async () => {
    const deadLetter = await createFifo("dlq");
    const { queueUrl, queueArn } = await createFifo("poison", {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetter.queueArn, maxReceiveCount: 2 }),
    });
    const messageId = await send(queueUrl, "poison", "g");
    let invocations = 0;
    poll({
      queueUrl, queueArn, onError: () => undefined,
      invoke: async (event) => {
        invocations += 1;
        // Returning the message at once instead of waiting out its 30-second visibility timeout.
        const handle = event.Records[0]!.receiptHandle;
        await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 }));
        throw new Error("cannot process");
      },
    });
    const { Messages } = await client.send(new ReceiveMessageCommand({
      QueueUrl: deadLetter.queueUrl, WaitTimeSeconds: 5, MessageSystemAttributeNames: ["All"],
    }));
    expect(Messages?.map((message) => [message.MessageId, message.Body, message.Attributes?.MessageGroupId])).toEqual([[messageId, "poison", "g"]]);
    await sleep(100);
    expect(invocations).toBe(2);
  });

  it("stop() waits for batches in flight and then invokes nothing more", async () => {
    const { queueUrl, queueArn } = await createFifo("stop");
    await send(queueUrl, "first", "g");
    const seen: string[] = [];
    let finish = () => {};
    const poller = startSqsPoller({
      client: pollerClient(), queueUrl, queueArn,
      invoke: async (event) => {
        seen.push(...bodiesOf(event));
        await new Promise<void>((resolve) => (finish = resolve));
      },
    });
    await waitFor(() => seen.length === 1);
    let stopped = false;
    const stopping = poller.stop().then(() => (stopped = true));
    await sleep(50);
    expect(stopped).toBe(false);
    finish();
    await stopping;
    await send(queueUrl, "after-stop", "other");
    await sleep(300);
    expect(seen).toEqual(["first"]);
    expect(await messageCounts(queueUrl)).toEqual({ ApproximateNumberOfMessages: "1", ApproximateNumberOfMessagesNotVisible: "0" });
  });

  it("reports polling errors to onError and keeps polling", async () => {
    const name = `appears-later-${++queueCounter}.fifo`;
    const queueUrl = `${emulator.endpoint}/000000000000/${name}`;
    const errors: unknown[] = [];
    const seen: string[] = [];
    poll({
      queueUrl, queueArn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
      onError: (error) => errors.push(error),
      invoke: async (event) => void seen.push(...bodiesOf(event)),
    });
    await waitFor(() => errors.length > 0);
    expect(errors[0]).toMatchObject({ name: "QueueDoesNotExist" });
    await client.send(new CreateQueueCommand({ QueueName: name, Attributes: { FifoQueue: "true", ContentBasedDeduplication: "true" } }));
    await send(queueUrl, "finally", "g");
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual(["finally"]);
  });
});

describe("SQS poller, calls in-process", () => {
  it("long-polls 20 s as Lambda does, and stop() ends the poll at once without receiving", async () => {
    const { queueUrl, queueArn } = await createFifo("stop-long-poll");
    const seen: string[] = [];
    const poller = startSqsPoller({ client: inProcessTransport(emulator), queueUrl, queueArn, waitTimeSeconds: 20, invoke: async (event) => void seen.push(...bodiesOf(event)) });
    await send(queueUrl, "during the poll", "g");
    await waitFor(() => seen.length === 1);
    const started = Date.now();
    await poller.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    await send(queueUrl, "after-stop", "g");
    expect(await messageCounts(queueUrl)).toEqual({ ApproximateNumberOfMessages: "1", ApproximateNumberOfMessagesNotVisible: "0" });
  });
});

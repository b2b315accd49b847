import { createHash } from "node:crypto";
import {
  ChangeMessageVisibilityBatchCommand, ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageBatchCommand,
  DeleteMessageCommand, DeleteQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, ListMessageMoveTasksCommand, ListQueuesCommand,
  PurgeQueueCommand, QueueDoesNotExist, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand,
  SetQueueAttributesCommand, SQSClient, StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import type { Message, MessageAttributeValue, ReceiveMessageCommandInput } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSqsEmulator } from "@azuchi/local/sqs";
import type { SqsEmulator } from "@azuchi/local/sqs";
import { QueueStore } from "../../packages/local/src/sqs/queue-store.ts";

let emulator: SqsEmulator;
let client: SQSClient;
// The emulator's clock runs `skewMs` ahead of real time; tests move it instead of sleeping.
let skewMs = 0;
const advance = (ms: number) => (skewMs += ms);
let queueCounter = 0;

beforeAll(async () => {
  emulator = await startSqsEmulator({ now: () => Date.now() + skewMs });
  client = new SQSClient({ endpoint: emulator.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
});

afterAll(async () => {
  client?.destroy();
  await emulator?.close();
});

const uniqueName = (base: string) => `${base}-${++queueCounter}`;

async function createQueue(base: string, attributes: Record<string, string> = {}): Promise<string> {
  const fifo = attributes.FifoQueue === "true";
  const output = await client.send(new CreateQueueCommand({ QueueName: `${uniqueName(base)}${fifo ? ".fifo" : ""}`, Attributes: attributes }));
  return output.QueueUrl!;
}

const createFifo = (base: string, attributes: Record<string, string> = {}) => createQueue(base, { FifoQueue: "true", ...attributes });

let dedupCounter = 0;
async function send(queueUrl: string, body: string, group: string, deduplicationId = `d${++dedupCounter}`) {
  return client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: deduplicationId }));
}

async function receive(queueUrl: string, input: Partial<ReceiveMessageCommandInput> = {}): Promise<Message[]> {
  const output = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["All"], ...input }));
  return output.Messages ?? [];
}

const bodies = (messages: Message[]) => messages.map((message) => message.Body);

async function attributes(queueUrl: string, names: string[] = ["All"]) {
  return (await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: names as never }))).Attributes ?? {};
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const arnOf = async (queueUrl: string) => (await attributes(queueUrl, ["QueueArn"])).QueueArn!;

describe("SQS emulator: the wire protocol", () => {
  it("creates a queue whose URL and ARN follow the account and region", async () => {
    const output = await client.send(new CreateQueueCommand({ QueueName: "named-queue" }));
    expect(output.QueueUrl).toBe(`${emulator.endpoint}/000000000000/named-queue`);
    expect(await arnOf(output.QueueUrl!)).toBe("arn:aws:sqs:us-east-1:000000000000:named-queue");
    const url = await client.send(new GetQueueUrlCommand({ QueueName: "named-queue" }));
    expect(url.QueueUrl).toBe(output.QueueUrl);
  });

  it("answers a queue that does not exist with QueueDoesNotExist", async () => {
    await expect(client.send(new GetQueueUrlCommand({ QueueName: "no-such-queue" }))).rejects.toBeInstanceOf(QueueDoesNotExist);
    const missingUrl = `${emulator.endpoint}/000000000000/no-such-queue`;
    await expect(client.send(new SendMessageCommand({ QueueUrl: missingUrl, MessageBody: "x" }))).rejects.toMatchObject({
      name: "QueueDoesNotExist",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it("creates a queue idempotently for the same attributes and refuses different ones with QueueNameExists", async () => {
    const name = uniqueName("idempotent");
    const first = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "5" } }));
    const again = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "5" } }));
    expect(again.QueueUrl).toBe(first.QueueUrl);
    await expect(client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "6" } }))).rejects.toMatchObject({
      name: "QueueNameExists",
    });
  });

  it("lists queues by name prefix", async () => {
    await client.send(new CreateQueueCommand({ QueueName: "listed-alpha" }));
    await client.send(new CreateQueueCommand({ QueueName: "listed-beta" }));
    await client.send(new CreateQueueCommand({ QueueName: "unlisted" }));
    const output = await client.send(new ListQueuesCommand({ QueueNamePrefix: "listed-" }));
    expect(output.QueueUrls).toEqual([`${emulator.endpoint}/000000000000/listed-alpha`, `${emulator.endpoint}/000000000000/listed-beta`]);
  });

  it("returns the MD5 of the body and computes MD5OfMessageAttributes exactly as SQS does", async () => {
    const queueUrl = await createQueue("md5");
    const timestamp = { timestamp: { DataType: "Number", StringValue: "1493147359900" } };
    // Digests pinned by moto's and LocalStack's test suites; the second mixes every transport type and non-ASCII names.
    const single = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "derp", MessageAttributes: timestamp }));
    expect(single.MD5OfMessageBody).toBe("58fd9edd83341c29f1aebba81c31e257");
    expect(single.MD5OfMessageAttributes).toBe("235c5c510d26fb653d073faed50ae77c");
    const mixed: Record<string, MessageAttributeValue> = {
      ccc: { DataType: "String", StringValue: "testjunk" },
      aaa: { DataType: "Binary", BinaryValue: new Uint8Array([2, 3, 4]) },
      zzz: { DataType: "Number", StringValue: "0230.01" },
      "öther_encodings": { DataType: "String", StringValue: "Tüst" },
    };
    const several = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "derp", MessageAttributes: mixed }));
    expect(several.MD5OfMessageAttributes).toBe("8ae21a7957029ef04146b42aeaa18a22");

    const received = await receive(queueUrl, { MessageAttributeNames: ["All"] });
    expect(received.map((message) => message.MD5OfMessageAttributes)).toEqual(["235c5c510d26fb653d073faed50ae77c", "8ae21a7957029ef04146b42aeaa18a22"]);
    expect(received[0]!.MD5OfBody).toBe("58fd9edd83341c29f1aebba81c31e257");
    expect(received[1]!.MessageAttributes).toEqual({
      ccc: { DataType: "String", StringValue: "testjunk" },
      aaa: { DataType: "Binary", BinaryValue: new Uint8Array([2, 3, 4]) },
      zzz: { DataType: "Number", StringValue: "0230.01" },
      "öther_encodings": { DataType: "String", StringValue: "Tüst" },
    });
  });

  it("returns only the message attributes a receive names", async () => {
    const queueUrl = await createQueue("attribute-names");
    await client.send(new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: "x",
      MessageAttributes: { keep: { DataType: "String", StringValue: "yes" }, drop: { DataType: "String", StringValue: "no" } },
    }));
    const [message] = await receive(queueUrl, { MessageAttributeNames: ["keep"] });
    expect(Object.keys(message!.MessageAttributes ?? {})).toEqual(["keep"]);
  });

  it("reports a bad value with InvalidParameterValue and a missing one with MissingParameter", async () => {
    const queueUrl = await createFifo("validation");
    await expect(receive(queueUrl, { MaxNumberOfMessages: 11 })).rejects.toMatchObject({ name: "InvalidParameterValue" });
    await expect(client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "x", MessageDeduplicationId: "d" }))).rejects.toMatchObject({
      name: "MissingParameter",
    });
    await expect(client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["Nonsense" as never] }))).rejects.toMatchObject({
      name: "InvalidAttributeName",
    });
  });

  it("reports message counts and settings through GetQueueAttributes, All or by name", async () => {
    const queueUrl = await createFifo("counts", { VisibilityTimeout: "12", ContentBasedDeduplication: "true" });
    await send(queueUrl, "a", "g1");
    await send(queueUrl, "b", "g2");
    await receive(queueUrl, { MaxNumberOfMessages: 1 });
    const all = await attributes(queueUrl);
    expect(all).toMatchObject({
      ApproximateNumberOfMessages: "1",
      ApproximateNumberOfMessagesNotVisible: "1",
      VisibilityTimeout: "12",
      FifoQueue: "true",
      ContentBasedDeduplication: "true",
    });
    expect(await attributes(queueUrl, ["ApproximateNumberOfMessages", "FifoQueue"])).toEqual({ ApproximateNumberOfMessages: "1", FifoQueue: "true" });
  });

  it("changes settings with SetQueueAttributes", async () => {
    const queueUrl = await createQueue("settable");
    await client.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { VisibilityTimeout: "45" } }));
    expect(await attributes(queueUrl, ["VisibilityTimeout"])).toEqual({ VisibilityTimeout: "45" });
  });

  it("empties a queue with PurgeQueue and removes it with DeleteQueue", async () => {
    const queueUrl = await createFifo("purged");
    await send(queueUrl, "a", "g");
    await client.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    expect(await receive(queueUrl)).toEqual([]);
    await client.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    await expect(receive(queueUrl)).rejects.toMatchObject({ name: "QueueDoesNotExist" });
  });

  it("sends a batch and reports each entry as Successful or Failed", async () => {
    const queueUrl = await createFifo("batch");
    const output = await client.send(new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: [
        { Id: "one", MessageBody: "1", MessageGroupId: "g", MessageDeduplicationId: "1" },
        { Id: "two", MessageBody: "2", MessageDeduplicationId: "2" },
        { Id: "three", MessageBody: "3", MessageGroupId: "g", MessageDeduplicationId: "3" },
      ],
    }));
    expect(output.Successful?.map((entry) => entry.Id)).toEqual(["one", "three"]);
    expect(output.Failed).toEqual([{ Id: "two", SenderFault: true, Code: "MissingParameter", Message: expect.any(String) }]);
    expect(bodies(await receive(queueUrl))).toEqual(["1", "3"]);
  });

  it("refuses empty, oversized and duplicate-id batches as a whole", async () => {
    const queueUrl = await createQueue("bad-batch");
    const entries = (count: number) => Array.from({ length: count }, (_, i) => ({ Id: `e${i}`, MessageBody: "x" }));
    await expect(client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [] }))).rejects.toMatchObject({ name: "EmptyBatchRequest" });
    await expect(client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries(11) }))).rejects.toMatchObject({
      name: "TooManyEntriesInBatchRequest",
    });
    await expect(client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [...entries(1), ...entries(1)] }))).rejects.toMatchObject({
      name: "BatchEntryIdsNotDistinct",
    });
    expect(await receive(queueUrl)).toEqual([]);
  });

  it("deletes and changes visibility in batches, entry by entry", async () => {
    const queueUrl = await createFifo("batch-delete");
    await send(queueUrl, "a", "g1");
    await send(queueUrl, "b", "g2");
    const [a, b] = await receive(queueUrl);
    const changed = await client.send(new ChangeMessageVisibilityBatchCommand({
      QueueUrl: queueUrl,
      Entries: [{ Id: "b", ReceiptHandle: b!.ReceiptHandle, VisibilityTimeout: 0 }, { Id: "bad", ReceiptHandle: "garbage", VisibilityTimeout: 0 }],
    }));
    expect(changed.Successful?.map((entry) => entry.Id)).toEqual(["b"]);
    expect(changed.Failed?.map((entry) => [entry.Id, entry.Code])).toEqual([["bad", "ReceiptHandleIsInvalid"]]);
    const deleted = await client.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: "a", ReceiptHandle: a!.ReceiptHandle }] }));
    expect(deleted.Successful).toEqual([{ Id: "a" }]);
    expect(bodies(await receive(queueUrl))).toEqual(["b"]);
  });

  it("returns as soon as a message arrives during a long poll", async () => {
    const queueUrl = await createFifo("long-poll");
    const started = Date.now();
    const polling = receive(queueUrl, { WaitTimeSeconds: 10 });
    setTimeout(() => void send(queueUrl, "late", "g"), 200);
    expect(bodies(await polling)).toEqual(["late"]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("waits the whole WaitTimeSeconds when nothing arrives, then returns no messages", async () => {
    const queueUrl = await createQueue("long-poll-empty");
    const started = Date.now();
    expect(await receive(queueUrl, { WaitTimeSeconds: 1 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("ends a long poll when a message's visibility timeout runs out", async () => {
    const queueUrl = await createFifo("long-poll-visibility");
    await send(queueUrl, "again", "g");
    await receive(queueUrl, { VisibilityTimeout: 1 });
    const started = Date.now();
    const [message] = await receive(queueUrl, { WaitTimeSeconds: 5 });
    expect(message?.Body).toBe("again");
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it("delivers standard-queue messages and hides a received one for its visibility timeout", async () => {
    const queueUrl = await createQueue("standard", { VisibilityTimeout: "10" });
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "s1" }));
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "s2", DelaySeconds: 5 }));
    expect(bodies(await receive(queueUrl))).toEqual(["s1"]);
    expect(await receive(queueUrl)).toEqual([]);
    advance(11_000);
    expect(bodies(await receive(queueUrl))).toEqual(["s1", "s2"]);
  });
});


describe("SQS emulator: FIFO queues", () => {
  it("requires the .fifo suffix exactly when FifoQueue is true", async () => {
    await expect(client.send(new CreateQueueCommand({ QueueName: "suffixed.fifo" }))).rejects.toMatchObject({ name: "InvalidParameterValue" });
    await expect(client.send(new CreateQueueCommand({ QueueName: "unsuffixed", Attributes: { FifoQueue: "true" } }))).rejects.toMatchObject({
      name: "InvalidParameterValue",
    });
  });

  it("accepts only a FIFO queue as a FIFO queue's dead-letter queue", async () => {
    const standardArn = await arnOf(await createQueue("standard-dlq"));
    const fifoArn = await arnOf(await createFifo("fifo-dlq"));
    const policy = (arn: string) => JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 3 });
    await expect(createFifo("source", { RedrivePolicy: policy(standardArn) })).rejects.toMatchObject({ name: "InvalidParameterValue" });
    const source = await createFifo("source", { RedrivePolicy: policy(fifoArn) });
    expect(JSON.parse((await attributes(source, ["RedrivePolicy"])).RedrivePolicy!)).toEqual({ deadLetterTargetArn: fifoArn, maxReceiveCount: 3 });
  });

  it("deduplicates per message group on a high-throughput queue (DeduplicationScope messageGroup), per queue otherwise", async () => {
    const highThroughput = await createFifo("high-throughput", { DeduplicationScope: "messageGroup", FifoThroughputLimit: "perMessageGroupId" });
    expect(await attributes(highThroughput, ["DeduplicationScope", "FifoThroughputLimit"])).toEqual({ DeduplicationScope: "messageGroup", FifoThroughputLimit: "perMessageGroupId" });
    const first = await send(highThroughput, "a", "group-a", "same-id");
    const otherGroup = await send(highThroughput, "b", "group-b", "same-id");
    const again = await send(highThroughput, "a again", "group-a", "same-id");
    expect(otherGroup.MessageId).not.toBe(first.MessageId);
    expect(again.MessageId).toBe(first.MessageId);
    expect(bodies(await receive(highThroughput)).sort()).toEqual(["a", "b"]);

    const plain = await createFifo("per-queue");
    expect(await attributes(plain, ["DeduplicationScope", "FifoThroughputLimit"])).toEqual({ DeduplicationScope: "queue", FifoThroughputLimit: "perQueue" });
    const kept = await send(plain, "a", "group-a", "same-id");
    expect((await send(plain, "b", "group-b", "same-id")).MessageId).toBe(kept.MessageId);
    expect(bodies(await receive(plain))).toEqual(["a"]);
  });

  it("requires a MessageGroupId on send", async () => {
    const queueUrl = await createFifo("group-required");
    await expect(client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "x", MessageDeduplicationId: "d" }))).rejects.toMatchObject({
      name: "MissingParameter",
    });
  });

  it("requires a MessageDeduplicationId unless ContentBasedDeduplication, which uses the body's SHA-256", async () => {
    const explicit = await createFifo("dedup-required");
    await expect(client.send(new SendMessageCommand({ QueueUrl: explicit, MessageBody: "x", MessageGroupId: "g" }))).rejects.toMatchObject({
      name: "InvalidParameterValue",
    });
    const contentBased = await createFifo("content-based", { ContentBasedDeduplication: "true" });
    await client.send(new SendMessageCommand({ QueueUrl: contentBased, MessageBody: "hello", MessageGroupId: "g" }));
    const [message] = await receive(contentBased);
    expect(message?.Attributes?.MessageDeduplicationId).toBe(sha256("hello"));
  });

  it("accepts a duplicate within 5 minutes, answering the original MessageId, but delivers it only once", async () => {
    const queueUrl = await createFifo("dedup");
    const original = await send(queueUrl, "first", "g", "same");
    advance(4 * 60_000);
    const duplicate = await send(queueUrl, "second", "g", "same");
    expect(duplicate.MessageId).toBe(original.MessageId);
    expect(duplicate.SequenceNumber).toBe(original.SequenceNumber);
    const received = await receive(queueUrl);
    expect(bodies(received)).toEqual(["first"]);
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: received[0]!.ReceiptHandle }));
    await send(queueUrl, "third", "g", "same");
    expect(await receive(queueUrl)).toEqual([]);
  });

  it("delivers a message with a seen deduplication id once the 5-minute window has passed", async () => {
    const queueUrl = await createFifo("dedup-window");
    const original = await send(queueUrl, "first", "g", "same");
    advance(5 * 60_000 + 1000);
    const later = await send(queueUrl, "again", "g", "same");
    expect(later.MessageId).not.toBe(original.MessageId);
    expect(bodies(await receive(queueUrl))).toEqual(["first", "again"]);
  });

  it("forgets each deduplication id once its window has passed, one used again after its window included", () => {
    const store = new QueueStore({ region: "us-east-1", accountId: "000000000000" });
    const queue = store.create("forget.fifo", { FifoQueue: "true" });
    const message = (deduplicationId: string) => ({ body: deduplicationId, messageAttributes: {}, systemAttributes: {}, groupId: "g", deduplicationId, delaySeconds: 0, senderId: "local" });
    const remembered = () => queue.contents().deduplication.map(([key]) => key);
    const t = 1_000_000;
    const first = queue.send(message("x"), t);
    queue.send(message("y"), t + 2 * 60_000);
    // x's window has passed: sent again, it is a new message with a window of its own.
    const again = queue.send(message("x"), t + 5.5 * 60_000);
    expect(again.messageId).not.toBe(first.messageId);
    expect(remembered()).toEqual(["y", "x"]);
    // y's window has passed, x's second has not.
    expect(queue.send(message("x"), t + 8 * 60_000).messageId).toBe(again.messageId);
    expect(remembered()).toEqual(["x"]);
    queue.send(message("z"), t + 11 * 60_000);
    expect(remembered()).toEqual(["z"]);
  });

  it("delivers a group's messages in the order they were sent", async () => {
    const queueUrl = await createFifo("order");
    for (const body of ["1", "2", "3", "4", "5"]) await send(queueUrl, body, "g");
    expect(bodies(await receive(queueUrl))).toEqual(["1", "2", "3", "4", "5"]);
  });

  it("delivers nothing later from a group while one of its messages is in flight", async () => {
    const queueUrl = await createFifo("blocked");
    for (const body of ["1", "2", "3"]) await send(queueUrl, body, "g");
    const [first] = await receive(queueUrl, { MaxNumberOfMessages: 1 });
    expect(first?.Body).toBe("1");
    expect(await receive(queueUrl)).toEqual([]);
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: first!.ReceiptHandle }));
    expect(bodies(await receive(queueUrl, { MaxNumberOfMessages: 1 }))).toEqual(["2"]);
  });

  it("does not hold back other groups while one group is blocked", async () => {
    const queueUrl = await createFifo("other-groups");
    await send(queueUrl, "a1", "a");
    await send(queueUrl, "a2", "a");
    await send(queueUrl, "b1", "b");
    expect(bodies(await receive(queueUrl, { MaxNumberOfMessages: 1 }))).toEqual(["a1"]);
    expect(bodies(await receive(queueUrl))).toEqual(["b1"]);
  });

  it("fills a receive with a group's messages in order first, then with other groups", async () => {
    const queueUrl = await createFifo("fill");
    await send(queueUrl, "a1", "a");
    await send(queueUrl, "b1", "b");
    await send(queueUrl, "b2", "b");
    await send(queueUrl, "a2", "a");
    await send(queueUrl, "c1", "c");
    expect(bodies(await receive(queueUrl, { MaxNumberOfMessages: 4 }))).toEqual(["a1", "a2", "b1", "b2"]);
    expect(bodies(await receive(queueUrl))).toEqual(["c1"]);
  });

  it("redelivers a returned message before the later messages of its group", async () => {
    const queueUrl = await createFifo("returned");
    for (const body of ["1", "2", "3"]) await send(queueUrl, body, "g");
    const [first] = await receive(queueUrl, { MaxNumberOfMessages: 1 });
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: first!.ReceiptHandle, VisibilityTimeout: 0 }));
    const again = await receive(queueUrl);
    expect(bodies(again)).toEqual(["1", "2", "3"]);
    expect(again.map((message) => message.Attributes?.ApproximateReceiveCount)).toEqual(["2", "1", "1"]);
  });

  it("hides a received message for the queue's 30-second default visibility timeout, then delivers it before its group's later messages", async () => {
    const queueUrl = await createFifo("default-visibility");
    await send(queueUrl, "m1", "g");
    await send(queueUrl, "m2", "g");
    await receive(queueUrl, { MaxNumberOfMessages: 1 });
    advance(29_000);
    expect(await receive(queueUrl)).toEqual([]);
    advance(2_000);
    expect(bodies(await receive(queueUrl))).toEqual(["m1", "m2"]);
  });

  it("uses a receive's own VisibilityTimeout and one set by ChangeMessageVisibility", async () => {
    const queueUrl = await createFifo("visibility");
    await send(queueUrl, "m", "g");
    await receive(queueUrl, { VisibilityTimeout: 5 });
    advance(6_000);
    const [message] = await receive(queueUrl);
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message!.ReceiptHandle, VisibilityTimeout: 120 }));
    advance(60_000);
    expect(await receive(queueUrl)).toEqual([]);
    advance(61_000);
    expect(bodies(await receive(queueUrl))).toEqual(["m"]);
  });

  it("accepts a receipt handle only from the latest receive, answering an earlier one as expired", async () => {
    const queueUrl = await createFifo("stale-handle");
    await send(queueUrl, "m", "g");
    const [first] = await receive(queueUrl, { VisibilityTimeout: 0 });
    const [second] = await receive(queueUrl);
    await expect(client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: first!.ReceiptHandle }))).rejects.toMatchObject({
      name: "InvalidParameterValue",
      message: expect.stringContaining("The receipt handle has expired"),
    });
    expect(await attributes(queueUrl, ["ApproximateNumberOfMessagesNotVisible"])).toEqual({ ApproximateNumberOfMessagesNotVisible: "1" });
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: second!.ReceiptHandle }));
    expect(await attributes(queueUrl, ["ApproximateNumberOfMessagesNotVisible"])).toEqual({ ApproximateNumberOfMessagesNotVisible: "0" });
  });

  it("answers a handle that is not this queue's with ReceiptHandleIsInvalid", async () => {
    const queueUrl = await createFifo("foreign-handle");
    const otherUrl = await createFifo("other");
    await send(otherUrl, "m", "g");
    const [message] = await receive(otherUrl);
    for (const handle of [message!.ReceiptHandle!, "not-a-handle"]) {
      await expect(client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: handle }))).rejects.toMatchObject({
        name: "ReceiptHandleIsInvalid",
      });
    }
  });

  it("returns the FIFO system attributes, with 20-digit sequence numbers that increase", async () => {
    const queueUrl = await createFifo("system-attributes");
    const before = Date.now() + skewMs;
    const sent = [await send(queueUrl, "1", "g", "dedup-1"), await send(queueUrl, "2", "g", "dedup-2")];
    const received = await receive(queueUrl);
    expect(received[0]!.Attributes).toEqual({
      SenderId: "000000000000",
      SentTimestamp: expect.stringMatching(/^\d{13}$/),
      ApproximateReceiveCount: "1",
      ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
      SequenceNumber: sent[0]!.SequenceNumber,
      MessageDeduplicationId: "dedup-1",
      MessageGroupId: "g",
    });
    expect(Number(received[0]!.Attributes!.SentTimestamp)).toBeGreaterThanOrEqual(before);
    const [first, second] = sent.map((output) => output.SequenceNumber!);
    expect(first).toMatch(/^\d{20}$/);
    expect(BigInt(second!)).toBeGreaterThan(BigInt(first!));
  });

  it("returns only the system attributes named by the older AttributeNames parameter", async () => {
    const queueUrl = await createFifo("attribute-names-legacy");
    await send(queueUrl, "m", "g");
    // The SDK types this deprecated parameter as queue attribute names; SQS reads message system attribute names from it.
    const AttributeNames = ["MessageGroupId", "ApproximateReceiveCount"] as never[];
    const output = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, AttributeNames }));
    expect(output.Messages?.[0]?.Attributes).toEqual({ MessageGroupId: "g", ApproximateReceiveCount: "1" });
  });

  it("moves a message received maxReceiveCount times to the dead-letter queue instead of delivering it again, with its deduplication id replaced by its MessageId", async () => {
    const deadLetterUrl = await createFifo("dlq");
    const deadLetterArn = await arnOf(deadLetterUrl);
    const queueUrl = await createFifo("redriven", { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterArn, maxReceiveCount: 2 }) });
    await client.send(new SendMessageCommand({
      QueueUrl: queueUrl, MessageBody: "poison", MessageGroupId: "g", MessageDeduplicationId: "p",
      MessageAttributes: { kind: { DataType: "String", StringValue: "job" } },
    }));
    await send(queueUrl, "next", "g");
    const receivedIds: string[] = [];
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const [message] = await receive(queueUrl, { MaxNumberOfMessages: 1, VisibilityTimeout: 0 });
      expect(message?.Body).toBe("poison");
      receivedIds.push(message!.MessageId!);
    }
    expect(bodies(await receive(queueUrl, { MaxNumberOfMessages: 1 }))).toEqual(["next"]);
    const [dead] = await receive(deadLetterUrl, { MessageAttributeNames: ["All"] });
    expect(dead).toMatchObject({
      MessageId: receivedIds[0],
      Body: "poison",
      MessageAttributes: { kind: { DataType: "String", StringValue: "job" } },
      Attributes: { MessageGroupId: "g", MessageDeduplicationId: receivedIds[0], DeadLetterQueueSourceArn: await arnOf(queueUrl) },
    });
  });

  it("moves a dead-letter queue's messages back to their source queue with StartMessageMoveTask", async () => {
    const deadLetterUrl = await createFifo("redrive-dlq");
    const deadLetterArn = await arnOf(deadLetterUrl);
    const queueUrl = await createFifo("redrive-source", { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterArn, maxReceiveCount: 1 }) });
    const { MessageId: originalId } = await send(queueUrl, "retry-me", "g");
    await receive(queueUrl, { VisibilityTimeout: 0 });
    expect(await receive(queueUrl)).toEqual([]);
    await client.send(new StartMessageMoveTaskCommand({ SourceArn: deadLetterArn }));
    const tasks = await client.send(new ListMessageMoveTasksCommand({ SourceArn: deadLetterArn }));
    expect(tasks.Results?.map((task) => [task.Status, task.ApproximateNumberOfMessagesMoved])).toEqual([["COMPLETED", 1]]);
    const [redriven] = await receive(queueUrl);
    expect(redriven).toMatchObject({ Body: "retry-me", Attributes: { MessageGroupId: "g", ApproximateReceiveCount: "1" } });
    expect(redriven!.MessageId).not.toBe(originalId);
    expect(await receive(deadLetterUrl)).toEqual([]);
  });
});

describe("SQS emulator: long polls on the real clock", () => {
  let realClock: SqsEmulator;
  let realClient: SQSClient;
  beforeAll(async () => {
    realClock = await startSqsEmulator();
    realClient = new SQSClient({ endpoint: realClock.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  });
  afterAll(async () => {
    realClient?.destroy();
    await realClock?.close();
  });

  const createOn = async (name: string, attributes: Record<string, string> = {}) =>
    (await realClient.send(new CreateQueueCommand({ QueueName: `${uniqueName(name)}.fifo`, Attributes: { FifoQueue: "true", ...attributes } }))).QueueUrl!;
  const receiveOn = async (queueUrl: string, input: Partial<ReceiveMessageCommandInput>) =>
    (await realClient.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, ...input }))).Messages ?? [];

  it("sleeps until nothing but its deadline can end it: an empty queue is not looked at again", async () => {
    const store = new QueueStore({ region: "us-east-1", accountId: "000000000000" });
    const queue = store.create("idle", {});
    const started = Date.now();
    await store.waitForChange(queue, started + 500, new AbortController().signal);
    expect(Date.now() - started).toBeGreaterThanOrEqual(490);
  });

  it("ends as a received message's visibility timeout runs out", async () => {
    const queueUrl = await createOn("real-visibility");
    await realClient.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "again", MessageGroupId: "g", MessageDeduplicationId: "d" }));
    await receiveOn(queueUrl, { VisibilityTimeout: 1 });
    const started = Date.now();
    expect(bodies(await receiveOn(queueUrl, { WaitTimeSeconds: 5 }))).toEqual(["again"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("ends as a delayed message becomes visible", async () => {
    // A FIFO queue delays by its DelaySeconds only (a message's own is refused).
    const queueUrl = await createOn("real-delay", { DelaySeconds: "1" });
    await realClient.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "later", MessageGroupId: "g", MessageDeduplicationId: "d" }));
    const started = Date.now();
    expect(bodies(await receiveOn(queueUrl, { WaitTimeSeconds: 5 }))).toEqual(["later"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("ends as ChangeMessageVisibility makes a message visible sooner than the poll's timer", async () => {
    const queueUrl = await createOn("real-change-visibility");
    await realClient.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "sooner", MessageGroupId: "g", MessageDeduplicationId: "d" }));
    const [held] = await receiveOn(queueUrl, { VisibilityTimeout: 30 });
    const started = Date.now();
    const polling = receiveOn(queueUrl, { WaitTimeSeconds: 5 });
    setTimeout(() => void realClient.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: held!.ReceiptHandle, VisibilityTimeout: 0 })), 200);
    expect(bodies(await polling)).toEqual(["sooner"]);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

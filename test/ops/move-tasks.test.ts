import type { SQSClient} from "@aws-sdk/client-sqs";
import {
  CancelMessageMoveTaskCommand, CreateQueueCommand, GetQueueAttributesCommand, ListMessageMoveTasksCommand, ReceiveMessageCommand,
  SendMessageCommand, StartMessageMoveTaskCommand, type Message,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SqsEmulator } from "@azuchi/local/sqs";
import { startEmulatorAndClient, stopEmulatorAndClient } from "../support/ops-cli.ts";

// StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask as SQS does them for FIFO
// (what `azuchi-ops dlq redrive` drives): a rate-limited task runs, can be cancelled, is alone on
// its queue, and keeps each group's order.
let emulator: SqsEmulator;
let sqs: SQSClient;
let n = 0;

beforeAll(async () => ({ emulator, sqs } = await startEmulatorAndClient()));
afterAll(() => stopEmulatorAndClient(emulator, sqs));

async function fifoPair() {
  const id = ++n;
  const { QueueUrl: dlq } = await sqs.send(new CreateQueueCommand({ QueueName: `move-dlq-${id}.fifo`, Attributes: { FifoQueue: "true" } }));
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
  const { QueueUrl: source } = await sqs.send(new CreateQueueCommand({
    QueueName: `move-source-${id}.fifo`,
    Attributes: { FifoQueue: "true", RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }) },
  }));
  return { dlq: dlq!, dlqArn, source: source! };
}

async function deadLetter(queues: { dlq: string }, bodies: [string, string][]) {
  for (const [group, body] of bodies) {
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.dlq, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: `${body}-${n}` }));
  }
}

/** Everything the queue holds, deleting nothing: receives until empty (visibility long enough for the test). */
async function drain(url: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 60, MessageSystemAttributeNames: ["All"] }));
    if (Messages.length === 0) return all;
    all.push(...Messages);
    // FIFO hands out a group's next messages only once these are gone.
    const { DeleteMessageBatchCommand } = await import("@aws-sdk/client-sqs");
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
}

const tasks = async (arn: string) => (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arn, MaxResults: 10 }))).Results ?? [];

describe("message move tasks on FIFO queues", () => {
  it("a task with MaxNumberOfMessagesPerSecond runs, shows its handle only while RUNNING, and completes with every group in order", async () => {
    const queues = await fifoPair();
    // The agent sends its dead letters itself, so they name no source queue: DestinationArn says where.
    const sourceArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queues.source, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    await deadLetter(queues, [["a", "a1"], ["b", "b1"], ["a", "a2"], ["b", "b2"], ["a", "a3"]]);
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: queues.dlqArn, DestinationArn: sourceArn, MaxNumberOfMessagesPerSecond: 20 }));
    const [first] = await tasks(queues.dlqArn);
    expect(first).toMatchObject({ Status: "RUNNING", TaskHandle, ApproximateNumberOfMessagesToMove: 5 });
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: queues.dlqArn, DestinationArn: sourceArn }))).rejects.toThrow(/already a task running/);
    await expect.poll(async () => (await tasks(queues.dlqArn))[0]?.Status, { timeout: 10_000 }).toBe("COMPLETED");
    const [done] = await tasks(queues.dlqArn);
    expect(done).toMatchObject({ ApproximateNumberOfMessagesMoved: 5 });
    expect(done!.TaskHandle).toBeUndefined();
    const moved = await drain(queues.source);
    const byGroup = (group: string) => moved.filter((m) => m.Attributes?.MessageGroupId === group).map((m) => m.Body);
    expect(byGroup("a")).toEqual(["a1", "a2", "a3"]);
    expect(byGroup("b")).toEqual(["b1", "b2"]);
  });

  it("CancelMessageMoveTask stops a running task: what moved stays moved, the rest stays in the dead-letter queue", async () => {
    const queues = await fifoPair();
    const sourceArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queues.source, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    await deadLetter(queues, Array.from({ length: 20 }, (_, i): [string, string] => [`g${i % 4}`, `m${i}`]));
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: queues.dlqArn, DestinationArn: sourceArn, MaxNumberOfMessagesPerSecond: 2 }));
    await expect.poll(async () => (await tasks(queues.dlqArn))[0]?.ApproximateNumberOfMessagesMoved, { timeout: 5_000 }).toBeGreaterThan(0);
    const { ApproximateNumberOfMessagesMoved: moved } = await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(20);
    const [cancelled] = await tasks(queues.dlqArn);
    expect(cancelled).toMatchObject({ Status: "CANCELLED", ApproximateNumberOfMessagesMoved: moved });
    await expect(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }))).rejects.toThrow(/not running/);
    const [left, back] = [await drain(queues.dlq), await drain(queues.source)];
    expect(left.length + back.length).toBe(20);
    expect(back).toHaveLength(moved!);
  });

  it("moves nothing of a group past its message in flight", async () => {
    const queues = await fifoPair();
    const sourceArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queues.source, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    await deadLetter(queues, [["a", "a1"], ["a", "a2"], ["b", "b1"]]);
    // Someone reads a1 (an operator's list, say): a2 must not overtake it.
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.dlq, MaxNumberOfMessages: 1, VisibilityTimeout: 60 }));
    expect(Messages.map((m) => m.Body)).toEqual(["a1"]);
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: queues.dlqArn, DestinationArn: sourceArn }));
    expect((await drain(queues.source)).map((m) => m.Body)).toEqual(["b1"]);
  });
});

describe("the older query protocol (AWS CLI 2.9)", () => {
  it("is refused with an XML error the CLI prints, saying which clients work", async () => {
    const response = await fetch(emulator.endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
      body: "Action=ListQueues&Version=2012-11-05",
    });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).toMatch(/<Code>InvalidAction<\/Code>/);
    expect(text).toMatch(/sent ListQueues in the older query protocol.*AWS CLI v2\.15/);
  });
});

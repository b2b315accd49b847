import { randomUUID } from "node:crypto";
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  enqueueUserMessage,
  EnqueueFailedError,
  MessagesRepository,
  parseAgentJob,
  SessionsRepository,
  storeUserMessage,
  type UserMessageInput,
} from "../../packages/core/src/index.ts";
import { startSqsEmulator, type SqsEmulator } from "../../packages/local/src/sqs/index.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";

let db: TestDynamo;
let sqsServer: SqsEmulator;
let sqs: SQSClient;
let messages: MessagesRepository;
let sessions: SessionsRepository;
let clock = Date.now();

beforeAll(async () => {
  db = await startTestDynamo();
  sqsServer = await startSqsEmulator({ now: () => clock });
  sqs = new SQSClient({ endpoint: sqsServer.endpoint, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });
  messages = new MessagesRepository(db.doc, db.tables);
  sessions = new SessionsRepository(db.doc, db.tables.sessions);
});
afterAll(async () => {
  sqs?.destroy();
  await sqsServer?.close();
  await db?.stop();
});

async function newQueue(): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `jobs-${randomUUID()}.fifo`, Attributes: { FifoQueue: "true" } }));
  return QueueUrl!;
}

/** Every job on the queue, taken off it. */
async function drain(queueUrl: string) {
  const jobs = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["All"] }));
    if (Messages.length === 0) return jobs;
    for (const received of Messages) {
      jobs.push({ job: parseAgentJob(received.Body!), deduplicationId: received.Attributes?.MessageDeduplicationId, groupId: received.Attributes?.MessageGroupId });
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: received.ReceiptHandle }));
    }
  }
}

async function input(text: string): Promise<UserMessageInput> {
  const { sessionId } = await sessions.create("alice");
  return { sessionId, userId: "alice", text, source: "websocket", connectionId: "conn-1", clientMessageId: randomUUID() };
}

describe("storing and queueing a USER message", () => {
  it("queues one job per message: the job id is the message id, grouped by session", async () => {
    const queueUrl = await newQueue();
    const message = await input("こんにちは 🎌");
    const { message: stored } = await storeUserMessage({ messages }, message);
    const queued = await enqueueUserMessage({ messages, sqs, queueUrl }, stored, message);
    expect(queued.enqueuedAt).toBeGreaterThanOrEqual(stored.createdAt);
    expect(await messages.get(stored.sessionId, stored.createdAt)).toEqual(queued);
    const jobs = await drain(queueUrl);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ deduplicationId: stored.messageId, groupId: message.sessionId });
    expect(jobs[0]!.job).toMatchObject({ jobId: stored.messageId, messageId: stored.messageId, message: "こんにちは 🎌", createdAt: stored.createdAt, userId: "alice" });
  });

  it("keeps a message whose job could not be queued, unmarked, and a retry with its clientMessageId queues it", async () => {
    const queueUrl = await newQueue();
    const message = await input("please answer");
    const { message: stored } = await storeUserMessage({ messages }, message);
    const missingQueue = `${queueUrl.replace(/\.fifo$/, "")}-deleted.fifo`;
    const failure = await enqueueUserMessage({ messages, sqs, queueUrl: missingQueue }, stored, message).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EnqueueFailedError);
    expect((await messages.get(stored.sessionId, stored.createdAt))?.enqueuedAt).toBeUndefined();

    // The client sends it again, later: the same message, now queued.
    const retry = await storeUserMessage({ messages }, { ...message, now: Date.now() + 5_000 });
    expect(retry).toEqual({ created: false, message: stored });
    const queued = await enqueueUserMessage({ messages, sqs, queueUrl }, retry.message, message);
    expect(queued.enqueuedAt).toBeDefined();
    expect((await messages.list(message.sessionId)).map((m) => m.messageId)).toEqual([stored.messageId]);
    expect((await drain(queueUrl)).map((j) => j.job.jobId)).toEqual([stored.messageId]);
  });

  it("is one job when two retries queue the same message at once (SQS deduplicates on the jobId)", async () => {
    const queueUrl = await newQueue();
    const message = await input("double send");
    const [first, second] = await Promise.all([storeUserMessage({ messages }, message), storeUserMessage({ messages }, message)]);
    expect([first.created, second.created].sort()).toEqual([false, true]);
    await Promise.all([
      enqueueUserMessage({ messages, sqs, queueUrl }, first.message, message),
      enqueueUserMessage({ messages, sqs, queueUrl }, second.message, message),
    ]);
    expect(await drain(queueUrl)).toHaveLength(1);
  });

  it("does not queue a message again once it is marked, even after SQS's 5-minute deduplication window", async () => {
    const queueUrl = await newQueue();
    const message = await input("once");
    const { message: stored } = await storeUserMessage({ messages }, message);
    await enqueueUserMessage({ messages, sqs, queueUrl }, stored, message);
    expect(await drain(queueUrl)).toHaveLength(1);
    clock += 6 * 60_000;
    const retry = await storeUserMessage({ messages }, message);
    expect(retry.message.enqueuedAt).toBeDefined();
    await enqueueUserMessage({ messages, sqs, queueUrl }, retry.message, message);
    expect(await drain(queueUrl)).toHaveLength(0);
  });
});

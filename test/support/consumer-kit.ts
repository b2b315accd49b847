import { randomUUID } from "node:crypto";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import type { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { createAgentDeps, createJobConsumer, settingsFromEnvironment, type AgentDeps, type AgentSettings } from "@azuchi/agent";
import { SessionLocks } from "../../packages/agent/src/session-lock.ts";
import { createDocumentClient, MessagesRepository, redisKeys, type AgentJob, type Message } from "@azuchi/core";
import { invokeLambda, toSqsRecord } from "@azuchi/local/runtime";
import type { LocalStackOptions } from "@azuchi/local/stack";
import { stackRedis, stackSqs, startTestStack, type TestStack } from "./stack.ts";

/** A message write as DynamoDB receives it: the table and the item's messageId. */
export interface MessageWrite {
  table: string;
  messageId: string | undefined;
}

/**
 * A messages repository on the stack's DynamoDB whose writes first pass through `fault`, which
 * may wait (a slow DynamoDB) or throw (DynamoDB failing that one write). The repository's own
 * code runs unchanged; the fault sits where the network would.
 */
export function messagesWithFault(fault: (write: MessageWrite) => Promise<void>): MessagesRepository {
  const doc = createDocumentClient();
  doc.middlewareStack.add(
    (next) => async (args) => {
      type Put = { TableName?: string; Item?: { messageId?: string | { S?: string } } };
      const input = args.input as Put & { TransactItems?: { Put?: Put }[] };
      // A plain put, or the puts of a transaction (a message and its guard are written in one).
      const puts = [input, ...(input.TransactItems ?? []).map((item) => item.Put ?? {})];
      for (const put of puts) {
        if (!put.Item || !put.TableName) continue;
        const id = put.Item.messageId;
        await fault({ table: put.TableName, messageId: typeof id === "string" ? id : id?.S });
      }
      return next(args);
    },
    { step: "build", name: "testFault" },
  );
  return new MessagesRepository(doc, settingsFromEnvironment().tables);
}

export interface ConsumerKitOptions {
  stack?: LocalStackOptions;
  /** The file's own queue's redrive maxReceiveCount; none by default. */
  maxReceiveCount?: number;
}

/**
 * The local stack plus a jobs queue of the file's own (so the stack's poller does not take the
 * jobs the tests hand to consumers), consumers built on the stack's settings with overrides, and
 * readers of what the agent stored and published. Fields are filled in beforeAll.
 */
export function useConsumerKit(name: string, options: ConsumerKitOptions = {}) {
  const created: AgentDeps[] = [];
  const kit = {
    stack: undefined as unknown as TestStack,
    redis: undefined as unknown as Redis,
    sqs: undefined as unknown as SQSClient,
    messages: undefined as unknown as MessagesRepository,
    queue: { url: "", arn: "", dlq: "" },
    keys: redisKeys(),
    /** Session locks on the stack's Redis, to take or look at a session's lock as another turn would. */
    locks: undefined as unknown as SessionLocks,

    /** A consumer's dependencies on the stack, pointed at the file's queue. */
    deps(overrides: Partial<AgentSettings> = {}): AgentDeps {
      const made = createAgentDeps({ ...settingsFromEnvironment(), jobsQueueUrl: kit.queue.url, deadLetterQueueUrl: kit.queue.dlq, ...overrides });
      created.push(made);
      return made;
    },
    job(sessionId: string, message: string, userId = name): AgentJob {
      const jobId = randomUUID();
      return { v: 1, jobId, sessionId, userId, messageId: jobId, message, createdAt: Date.now(), source: "websocket" };
    },
    /** A record of the job as SQS would hand it over on its `receives`-th receive. */
    recordOf(job: AgentJob, receives = 1, messageId: string = randomUUID()): SQSRecord {
      return toSqsRecord({ MessageId: messageId, ReceiptHandle: "stale", Body: JSON.stringify(job), Attributes: { MessageGroupId: job.sessionId, ApproximateReceiveCount: String(receives) } }, kit.queue.arn);
    },
    async enqueue(...jobs: AgentJob[]): Promise<void> {
      for (const j of jobs) {
        await kit.sqs.send(new SendMessageCommand({ QueueUrl: kit.queue.url, MessageBody: JSON.stringify(j), MessageGroupId: j.sessionId, MessageDeduplicationId: j.jobId }));
      }
    },
    async receiveBatch(waitSeconds = 1): Promise<SQSRecord[]> {
      const { Messages = [] } = await kit.sqs.send(new ReceiveMessageCommand({ QueueUrl: kit.queue.url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["All"], WaitTimeSeconds: waitSeconds }));
      return Messages.map((m) => toSqsRecord(m, kit.queue.arn));
    },
    async deadLetters() {
      const { Messages = [] } = await kit.sqs.send(new ReceiveMessageCommand({ QueueUrl: kit.queue.dlq, MaxNumberOfMessages: 10, MessageAttributeNames: ["All"], WaitTimeSeconds: 1 }));
      return Messages;
    },
    consume(agent: AgentDeps, records: SQSRecord[]) {
      return invokeLambda(createJobConsumer(() => agent), { Records: records } satisfies SQSEvent, { functionName: `${name}-consumer`, timeoutMs: 300_000 });
    },
    /** What the agent stored for the session (everything but USER messages), oldest first. */
    async agentMessages(sessionId: string): Promise<Message[]> {
      return (await kit.messages.list(sessionId)).filter((m) => m.role !== "USER");
    },
    /** The AgentRunFailed events of a job, oldest first. */
    failuresOf(jobId: string) {
      return kit.stack
        .recentEvents()
        .filter((e) => e["detail-type"] === "AgentRunFailed" && (e.detail as { jobId: string }).jobId === jobId)
        .map((e) => e.detail as { attempt: number; final: boolean; reason: string });
    },
  };
  beforeAll(async () => {
    kit.stack = await startTestStack(options.stack);
    kit.redis = stackRedis(kit.stack);
    kit.locks = new SessionLocks(kit.redis, kit.keys);
    kit.sqs = stackSqs(kit.stack);
    const dlq = (await kit.sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: "true" } }))).QueueUrl!;
    const dlqArn = (await kit.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    const attributes: Record<string, string> = { FifoQueue: "true", VisibilityTimeout: "60" };
    if (options.maxReceiveCount) attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount });
    const url = (await kit.sqs.send(new CreateQueueCommand({ QueueName: `${name}.fifo`, Attributes: attributes }))).QueueUrl!;
    const arn = (await kit.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    kit.queue = { url, arn, dlq };
    kit.messages = new MessagesRepository(createDocumentClient(), settingsFromEnvironment().tables);
  });
  afterAll(async () => {
    for (const deps of created) deps.redis.disconnect();
    kit.redis?.disconnect();
    await kit.stack?.stop();
  });
  return kit;
}

import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type {
  BatchResultErrorEntry,
  ChangeMessageVisibilityBatchCommandInput,
  DeleteMessageBatchCommandInput,
  Message,
  MessageAttributeValue,
  ReceiveMessageCommandInput,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from "aws-lambda";

/** The three calls the poller makes, as the SDK's client answers them. */
export interface PollerTransport {
  /**
   * `signal` aborts when the poller stops: a transport that can end the long poll then without
   * receiving anything (the emulator's in-process calls) answers no messages at once.
   */
  receiveMessage(input: ReceiveMessageCommandInput, signal?: AbortSignal): Promise<{ Messages?: Message[] }>;
  deleteMessageBatch(input: DeleteMessageBatchCommandInput): Promise<{ Failed?: BatchResultErrorEntry[] }>;
  changeMessageVisibilityBatch(input: ChangeMessageVisibilityBatchCommandInput): Promise<unknown>;
}

export interface SqsPollerOptions {
  /**
   * A client pointed at the emulator (or at SQS, for `sst dev`), or the emulator's own
   * in-process calls (sqs/in-process-transport.ts): the poller stands for Lambda's machinery,
   * whose receives and deletes are not the handlers' calls and need not cross HTTP locally.
   */
  client: SQSClient | PollerTransport;
  queueUrl: string;
  /** Goes into each record's eventSourceARN; its region into awsRegion. */
  queueArn: string;
  /** The function, as the event source mapping calls it (with ReportBatchItemFailures on). */
  invoke: (event: SQSEvent) => Promise<SQSBatchResponse | void>;
  /** Messages per batch, 1–10; default 10. */
  batchSize?: number;
  /** Batches in flight at once; default 10. On a FIFO queue each holds its own message groups. */
  maxConcurrency?: number;
  /**
   * Long poll length, 0–20 s; default 1, so stop() returns within about a second over the SDK.
   * The in-process transport ends its poll as stop() is called, so it can wait 20 s as Lambda's does.
   */
  waitTimeSeconds?: number;
  /** Receives failed polls, failed invocations and failed deletes; default logs to stderr. */
  onError?: (error: unknown) => void;
}

export interface SqsPoller {
  /** Stops polling and resolves once the batches in flight have finished. */
  stop(): Promise<void>;
}

/** A response named an itemIdentifier that is not a messageId of the batch: Lambda fails the whole batch. */
export class InvalidBatchItemFailureError extends Error {
  constructor(itemIdentifier: unknown) {
    super(`batchItemFailures names ${JSON.stringify(itemIdentifier)}, which is not a messageId of the batch; the whole batch is treated as failed`);
    this.name = "InvalidBatchItemFailureError";
  }
}

/** SQS refused to delete processed messages; they will be delivered again. */
export class MessageDeleteError extends Error {
  constructor(failures: { Id?: string; Code?: string; Message?: string }[]) {
    super(`could not delete ${failures.length} processed message(s): ${failures.map((failure) => `${failure.Code}: ${failure.Message}`).join("; ")}`);
    this.name = "MessageDeleteError";
  }
}

const errorPauseMs = 500;

/**
 * Feeds a queue to a handler the way a Lambda event source mapping does: long polls, up to
 * `maxConcurrency` batches in flight, and after each invocation deletes the records not listed
 * in batchItemFailures. A thrown invocation deletes nothing, so the batch returns after its
 * visibility timeout. On a FIFO queue the queue itself keeps a message group out of other
 * batches while one of its messages is in flight, so groups run concurrently and each in order.
 */
export function startSqsPoller(options: SqsPollerOptions): SqsPoller {
  const { queueUrl } = options;
  const client = "send" in options.client ? sdkTransport(options.client) : options.client;
  const batchSize = Math.min(10, Math.max(1, options.batchSize ?? 10));
  const maxConcurrency = Math.max(1, options.maxConcurrency ?? 10);
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  const onError = options.onError ?? ((error: unknown) => console.error("[sqs-poller]", queueUrl, error));
  const inFlight = new Set<Promise<void>>();
  const stopping = new AbortController();

  const report = (error: unknown) => {
    try {
      onError(error);
    } catch {
      // An onError that throws must not stop the poller.
    }
  };

  const toRecord = (message: Message) => toSqsRecord(message, options.queueArn);

  const deleteRecords = async (records: SQSRecord[]) => {
    if (records.length === 0) return;
    const output = await client.deleteMessageBatch({
      QueueUrl: queueUrl,
      Entries: records.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
    });
    if (output.Failed !== undefined && output.Failed.length > 0) report(new MessageDeleteError(output.Failed));
  };

  const processBatch = async (messages: Message[]) => {
    const records = messages.map(toRecord);
    let response: SQSBatchResponse | void;
    try {
      response = await options.invoke({ Records: records });
    } catch (error) {
      report(error);
      return;
    }
    const failed = failedMessageIds(response, records);
    if (failed instanceof InvalidBatchItemFailureError) return report(failed);
    try {
      await deleteRecords(records.filter((record) => !failed.has(record.messageId)));
    } catch (error) {
      report(error);
    }
  };

  // Messages received after stop() was called go back at once rather than wait out their visibility.
  const release = async (messages: Message[]) => {
    try {
      await client.changeMessageVisibilityBatch({
        QueueUrl: queueUrl,
        Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 })),
      });
    } catch (error) {
      report(error);
    }
  };

  const poll = async () => {
    while (!stopping.signal.aborted) {
      if (inFlight.size >= maxConcurrency) {
        await Promise.race(inFlight);
        continue;
      }
      let messages: Message[];
      try {
        const output = await client.receiveMessage({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: batchSize,
          WaitTimeSeconds: waitTimeSeconds,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        }, stopping.signal);
        messages = output.Messages ?? [];
      } catch (error) {
        report(error);
        await pause(errorPauseMs, stopping.signal);
        continue;
      }
      if (stopping.signal.aborted) {
        if (messages.length > 0) await release(messages);
        break;
      }
      if (messages.length === 0) {
        if (waitTimeSeconds === 0) await pause(50, stopping.signal);
        continue;
      }
      const batch = processBatch(messages).finally(() => inFlight.delete(batch));
      inFlight.add(batch);
    }
  };

  const polling = poll().catch(report);
  return {
    async stop() {
      stopping.abort();
      await polling;
      await Promise.all(inFlight);
    },
  };
}

function sdkTransport(client: SQSClient): PollerTransport {
  return {
    // The poll is not aborted at stop(): SQS may already have received messages for a request
    // that is cut off, and they would stay hidden for their whole visibility timeout.
    receiveMessage: (input) => client.send(new ReceiveMessageCommand(input)),
    deleteMessageBatch: (input) => client.send(new DeleteMessageBatchCommand(input)),
    changeMessageVisibilityBatch: (input) => client.send(new ChangeMessageVisibilityBatchCommand(input)),
  };
}

/** A received message as Lambda's event source mapping hands it to the function. */
export function toSqsRecord(message: Message, queueArn: string): SQSRecord {
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: (message.Attributes ?? {}) as unknown as SQSRecordAttributes,
    messageAttributes: toLambdaAttributes(message.MessageAttributes ?? {}),
    md5OfBody: message.MD5OfBody ?? "",
    ...(message.MD5OfMessageAttributes === undefined ? {} : { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(":")[3] ?? "us-east-1",
  };
}

/**
 * The messageIds a response marks as failed, as Lambda reads it: no response or no
 * batchItemFailures means all succeeded; an identifier that is empty, not a string or not in
 * the batch fails the whole batch.
 */
function failedMessageIds(response: SQSBatchResponse | void, records: SQSRecord[]): Set<string> | InvalidBatchItemFailureError {
  const failures: unknown = response?.batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  const ids = new Set(records.map((record) => record.messageId));
  if (!Array.isArray(failures)) return new InvalidBatchItemFailureError(failures);
  const failed = new Set<string>();
  for (const failure of failures as unknown[]) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== "string" || !ids.has(id)) return new InvalidBatchItemFailureError(id);
    failed.add(id);
  }
  return failed;
}

/** Lambda's shape for message attributes: camelCase, binary in base64, empty list fields. */
function toLambdaAttributes(attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  const converted: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    converted[name] = {
      ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      ...(value.BinaryValue === undefined ? {} : { binaryValue: Buffer.from(value.BinaryValue).toString("base64") }),
      stringListValues: [],
      binaryListValues: [],
      dataType: value.DataType ?? "String",
    };
  }
  return converted;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

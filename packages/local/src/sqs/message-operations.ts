import {
  batchEntryIdsNotDistinct, batchRequestTooLong, emptyBatchRequest, invalidBatchEntryId, invalidMessageContents,
  invalidParameterValue, missingParameter, SqsError, tooManyEntriesInBatchRequest,
} from "./errors.ts";
import type { Input } from "./input.ts";
import { entryList, messageAttributeMap, optionalInteger, optionalString, requiredInteger, requiredString, stringList } from "./input.ts";
import type { WireMessageAttributes } from "./message-attributes.ts";
import {
  attributesSize, hasOnlyValidCharacters, md5Hex, md5OfMessageAttributes, selectMessageAttributes, sha256Hex, validateMessageAttributes,
} from "./message-attributes.ts";
import type { NewMessage, Queue, Received } from "./queue.ts";
import type { Operation, OperationContext } from "./queue-operations.ts";
import { resolveQueue } from "./queue-operations.ts";

const maxBatchBytes = 1_048_576;
const batchEntryIdPattern = /^[A-Za-z0-9_-]{1,80}$/;
const groupIdPattern = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;

/** Sends one message (SendMessage, or one entry of SendMessageBatch) and returns its result fields. */
function sendOne(queue: Queue, entry: Input, context: OperationContext): Record<string, string> {
  const sentBody = requiredString(entry, "MessageBody");
  if (sentBody === "") throw invalidParameterValue("The request must contain a non-empty MessageBody.");
  // SQS stores invalid characters as U+FFFD instead of rejecting, unless nothing valid is left.
  const body = sentBody.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "\uFFFD");
  if (!hasOnlyValidCharacters(sentBody) && /^\uFFFD*$/.test(body)) throw invalidMessageContents();
  const messageAttributes = messageAttributeMap(entry, "MessageAttributes");
  validateMessageAttributes(messageAttributes);
  const systemAttributes = messageAttributeMap(entry, "MessageSystemAttributes");
  for (const [name, attribute] of Object.entries(systemAttributes)) {
    if (name !== "AWSTraceHeader" || attribute.DataType !== "String" || !attribute.StringValue) {
      throw invalidParameterValue(`Message system attribute '${name}' is not supported; only AWSTraceHeader of type String is.`);
    }
  }
  const size = Buffer.byteLength(body) + attributesSize(messageAttributes);
  if (size > queue.settings.maximumMessageSize) {
    throw invalidParameterValue(`One or more parameters are invalid. Reason: Message must be shorter than ${queue.settings.maximumMessageSize} bytes.`);
  }
  const message: NewMessage = {
    body,
    messageAttributes,
    systemAttributes,
    groupId: optionalString(entry, "MessageGroupId"),
    deduplicationId: optionalString(entry, "MessageDeduplicationId"),
    delaySeconds: optionalInteger(entry, "DelaySeconds", 0, 900) ?? queue.settings.delaySeconds,
    senderId: context.store.accountId,
  };
  if (message.groupId !== undefined && !groupIdPattern.test(message.groupId)) {
    throw invalidParameterValue(`Value ${message.groupId} for parameter MessageGroupId is invalid.`);
  }
  if (queue.fifo) {
    if (entry.DelaySeconds !== undefined && entry.DelaySeconds !== 0) {
      throw invalidParameterValue(`Value ${String(entry.DelaySeconds)} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.`);
    }
    if (message.groupId === undefined) throw missingParameter("MessageGroupId");
    if (message.deduplicationId === undefined) {
      if (!queue.settings.contentBasedDeduplication) {
        throw invalidParameterValue("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly");
      }
      message.deduplicationId = sha256Hex(sentBody);
    } else if (!groupIdPattern.test(message.deduplicationId)) {
      throw invalidParameterValue(`Value ${message.deduplicationId} for parameter MessageDeduplicationId is invalid.`);
    }
  } else if (message.deduplicationId !== undefined) {
    throw invalidParameterValue("Value for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid for this queue type.");
  }
  const outcome = queue.send(message, context.store.now());
  context.store.notify(queue);
  const md5OfAttributes = md5OfMessageAttributes(messageAttributes);
  const md5OfSystemAttributes = md5OfMessageAttributes(systemAttributes);
  return {
    MessageId: outcome.messageId,
    // The SDK checks this against the body it sent, so it is the sent body's digest.
    MD5OfMessageBody: md5Hex(sentBody),
    ...(md5OfAttributes === undefined ? {} : { MD5OfMessageAttributes: md5OfAttributes }),
    ...(md5OfSystemAttributes === undefined ? {} : { MD5OfMessageSystemAttributes: md5OfSystemAttributes }),
    ...(outcome.sequenceNumber === undefined ? {} : { SequenceNumber: outcome.sequenceNumber }),
  };
}

/** The checks every batch request gets before any entry runs. */
function batchEntries(input: Input): Input[] {
  const entries = entryList(input, "Entries");
  if (entries.length === 0) throw emptyBatchRequest();
  if (entries.length > 10) throw tooManyEntriesInBatchRequest(entries.length);
  const seen = new Set<string>();
  for (const entry of entries) {
    const id = requiredString(entry, "Id");
    if (!batchEntryIdPattern.test(id)) throw invalidBatchEntryId();
    if (seen.has(id)) throw batchEntryIdsNotDistinct(id);
    seen.add(id);
  }
  return entries;
}

/** Runs each entry on its own: SQS reports a failing entry in Failed and carries on. */
function runBatch(entries: Input[], run: (entry: Input) => Record<string, string>): { Successful: object[]; Failed: object[] } {
  const Successful: object[] = [];
  const Failed: object[] = [];
  for (const entry of entries) {
    const Id = entry.Id as string;
    try {
      Successful.push({ Id, ...run(entry) });
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      Failed.push({ Id, SenderFault: error.status < 500, Code: error.code, Message: error.message });
    }
  }
  return { Successful, Failed };
}

function systemAttributesOf(received: Received, requested: readonly string[]): Record<string, string> {
  const { message } = received;
  const all: Record<string, string | undefined> = {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentTimestamp),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp),
    SequenceNumber: message.sequenceNumber,
    MessageDeduplicationId: message.deduplicationId,
    MessageGroupId: message.groupId,
    AWSTraceHeader: message.systemAttributes.AWSTraceHeader?.StringValue,
    DeadLetterQueueSourceArn: message.deadLetterSourceArn,
  };
  const wantsAll = requested.includes("All");
  const selected: Record<string, string> = {};
  for (const [name, value] of Object.entries(all)) {
    if (value !== undefined && (wantsAll || requested.includes(name))) selected[name] = value;
  }
  return selected;
}

function receivedToWire(received: Received, systemNames: readonly string[], attributeNames: readonly string[]): object {
  const attributes = systemAttributesOf(received, systemNames);
  const messageAttributes: WireMessageAttributes = selectMessageAttributes(received.message.messageAttributes, attributeNames);
  const md5OfAttributes = md5OfMessageAttributes(messageAttributes);
  return {
    MessageId: received.message.messageId,
    ReceiptHandle: received.receiptHandle,
    MD5OfBody: md5Hex(received.message.body),
    Body: received.message.body,
    ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
    ...(md5OfAttributes === undefined ? {} : { MD5OfMessageAttributes: md5OfAttributes, MessageAttributes: messageAttributes }),
  };
}

export const messageOperations: Record<string, Operation> = {
  SendMessage(input, context) {
    return sendOne(resolveQueue(input, context), input, context);
  },

  SendMessageBatch(input, context) {
    const queue = resolveQueue(input, context);
    const entries = batchEntries(input);
    const total = entries.reduce((sum, entry) => sum + Buffer.byteLength(String(entry.MessageBody ?? ""))
      + attributesSize(messageAttributeMap(entry, "MessageAttributes")), 0);
    if (total > maxBatchBytes) throw batchRequestTooLong(maxBatchBytes);
    return runBatch(entries, (entry) => sendOne(queue, entry, context));
  },

  /** Long polls: waits up to WaitTimeSeconds and returns as soon as anything is receivable. */
  async ReceiveMessage(input, context) {
    const { store, signal } = context;
    const queue = resolveQueue(input, context);
    const max = optionalInteger(input, "MaxNumberOfMessages", 1, 10) ?? 1;
    const visibilityTimeout = optionalInteger(input, "VisibilityTimeout", 0, 43_200) ?? queue.settings.visibilityTimeout;
    const waitSeconds = optionalInteger(input, "WaitTimeSeconds", 0, 20) ?? queue.settings.receiveMessageWaitTimeSeconds;
    const systemNames = [...stringList(input, "AttributeNames"), ...stringList(input, "MessageSystemAttributeNames")];
    const attributeNames = stringList(input, "MessageAttributeNames");
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      // A client that has gone away must not make messages invisible.
      if (signal.aborted || store.isClosed) return {};
      const received = queue.receive(max, visibilityTimeout, store.now(), store.deadLetterMover(queue));
      if (received.length > 0) {
        return { Messages: received.map((item) => receivedToWire(item, systemNames, attributeNames)) };
      }
      if (Date.now() >= deadline) return {};
      await store.waitForChange(queue, deadline, signal);
    }
  },

  DeleteMessage(input, context) {
    const queue = resolveQueue(input, context);
    queue.delete(requiredString(input, "ReceiptHandle"), context.store.now());
    context.store.notify(queue);
    return {};
  },

  DeleteMessageBatch(input, context) {
    const queue = resolveQueue(input, context);
    const result = runBatch(batchEntries(input), (entry) => {
      queue.delete(requiredString(entry, "ReceiptHandle"), context.store.now());
      return {};
    });
    context.store.notify(queue);
    return result;
  },

  ChangeMessageVisibility(input, context) {
    const queue = resolveQueue(input, context);
    const timeout = requiredInteger(input, "VisibilityTimeout", 0, 43_200);
    queue.changeVisibility(requiredString(input, "ReceiptHandle"), timeout, context.store.now());
    context.store.notify(queue);
    return {};
  },

  ChangeMessageVisibilityBatch(input, context) {
    const queue = resolveQueue(input, context);
    const result = runBatch(batchEntries(input), (entry) => {
      const timeout = requiredInteger(entry, "VisibilityTimeout", 0, 43_200);
      queue.changeVisibility(requiredString(entry, "ReceiptHandle"), timeout, context.store.now());
      return {};
    });
    context.store.notify(queue);
    return result;
  },
};

import { invalidAttributeName, queueDoesNotExist, SqsError } from "./errors.ts";
import type { Input } from "./input.ts";
import { optionalInteger, optionalString, requiredString, stringList, stringMap } from "./input.ts";
import { readOnlyAttributeNames, settingsToAttributes } from "./queue-attributes.ts";
import type { Queue } from "./queue.ts";
import type { QueueStore } from "./queue-store.ts";

/** What every operation gets besides its input. */
export interface OperationContext {
  store: QueueStore;
  /** Base URL of the emulator, for queue URLs. */
  endpoint: string;
  /** Aborts when the client goes away, so a long poll stops waiting. */
  signal: AbortSignal;
}

export type Operation = (input: Input, context: OperationContext) => unknown;

const knownAttributeNames = new Set([
  ...readOnlyAttributeNames,
  "VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "MaximumMessageSize", "ReceiveMessageWaitTimeSeconds",
  "RedrivePolicy", "RedriveAllowPolicy", "Policy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled",
  "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit",
]);

export function queueUrl(context: OperationContext, queue: Queue): string {
  return `${context.endpoint}/${context.store.accountId}/${queue.name}`;
}

/**
 * The queue a QueueUrl names. Any host is accepted (clients may say localhost or 127.0.0.1);
 * the path must be /<account>/<name>.
 */
export function resolveQueue(input: Input, context: OperationContext): Queue {
  const url = requiredString(input, "QueueUrl");
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    throw new SqsError("InvalidAddress", `The address ${url} is not valid for this endpoint.`, { status: 404 });
  }
  const [, account, name, ...rest] = path.split("/");
  if (account !== context.store.accountId || name === undefined || rest.length > 0) throw queueDoesNotExist();
  return context.store.get(decodeURIComponent(name));
}

function queueAttributes(queue: Queue, names: readonly string[], now: number): Record<string, string> {
  for (const name of names) if (name !== "All" && !knownAttributeNames.has(name)) throw invalidAttributeName(name);
  const counts = queue.counts(now);
  const all: Record<string, string> = {
    QueueArn: queue.arn,
    ApproximateNumberOfMessages: String(counts.visible),
    ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
    ApproximateNumberOfMessagesDelayed: String(counts.delayed),
    CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(queue.lastModifiedAt / 1000)),
    ...settingsToAttributes(queue.settings),
  };
  if (names.includes("All")) return all;
  return Object.fromEntries(names.filter((name) => all[name] !== undefined).map((name) => [name, all[name]!]));
}

export const queueOperations: Record<string, Operation> = {
  CreateQueue(input, context) {
    const queue = context.store.create(requiredString(input, "QueueName"), stringMap(input, "Attributes"));
    return { QueueUrl: queueUrl(context, queue) };
  },

  GetQueueUrl(input, context) {
    const owner = optionalString(input, "QueueOwnerAWSAccountId");
    if (owner !== undefined && owner !== context.store.accountId) throw queueDoesNotExist();
    return { QueueUrl: queueUrl(context, context.store.get(requiredString(input, "QueueName"))) };
  },

  GetQueueAttributes(input, context) {
    const queue = resolveQueue(input, context);
    return { Attributes: queueAttributes(queue, stringList(input, "AttributeNames"), context.store.now()) };
  },

  SetQueueAttributes(input, context) {
    context.store.setAttributes(resolveQueue(input, context), stringMap(input, "Attributes"));
    return {};
  },

  ListQueues(input, context) {
    const prefix = optionalString(input, "QueueNamePrefix") ?? "";
    const maxResults = optionalInteger(input, "MaxResults", 1, 1000);
    const start = Number(optionalString(input, "NextToken") ?? "0") || 0;
    const queues = context.store.list(prefix);
    const page = maxResults === undefined ? queues.slice(start, start + 1000) : queues.slice(start, start + maxResults);
    const end = start + page.length;
    if (page.length === 0) return {};
    return {
      QueueUrls: page.map((queue) => queueUrl(context, queue)),
      ...(maxResults !== undefined && end < queues.length ? { NextToken: String(end) } : {}),
    };
  },

  ListDeadLetterSourceQueues(input, context) {
    const target = resolveQueue(input, context);
    const sources = context.store.list().filter((queue) => queue.settings.redrivePolicy?.deadLetterTargetArn === target.arn);
    return { queueUrls: sources.map((queue) => queueUrl(context, queue)) };
  },

  PurgeQueue(input, context) {
    const queue = resolveQueue(input, context);
    queue.purge();
    context.store.notify(queue);
    return {};
  },

  DeleteQueue(input, context) {
    context.store.delete(resolveQueue(input, context));
    return {};
  },
};

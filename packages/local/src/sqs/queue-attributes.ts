import { invalidAttributeName, invalidAttributeValue, invalidParameterValue } from "./errors.ts";

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

/** A queue's settable attributes, parsed. */
export interface QueueSettings {
  fifo: boolean;
  contentBasedDeduplication: boolean;
  /** Seconds. */
  visibilityTimeout: number;
  messageRetentionPeriod: number;
  delaySeconds: number;
  maximumMessageSize: number;
  receiveMessageWaitTimeSeconds: number;
  redrivePolicy: RedrivePolicy | undefined;
  deduplicationScope: "queue" | "messageGroup";
  fifoThroughputLimit: "perQueue" | "perMessageGroupId";
  /** Attributes kept and returned as given but without effect locally (policies, encryption). */
  opaque: Record<string, string>;
}

/** What a RedrivePolicy check needs to know about a target queue. */
export type DeadLetterTargetLookup = (arn: string) => { fifo: boolean } | undefined;

const opaqueNames = ["Policy", "RedriveAllowPolicy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"];
const fifoOnlyNames = ["ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"];
export const readOnlyAttributeNames = [
  "QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp",
];

export function defaultSettings(fifo: boolean): QueueSettings {
  return {
    fifo,
    contentBasedDeduplication: false,
    visibilityTimeout: 30,
    messageRetentionPeriod: 345_600,
    delaySeconds: 0,
    // SQS raised the limit (and the default) from 256 KiB to 1 MiB in 2025.
    maximumMessageSize: 1_048_576,
    receiveMessageWaitTimeSeconds: 0,
    redrivePolicy: undefined,
    deduplicationScope: "queue",
    fifoThroughputLimit: "perQueue",
    opaque: { SqsManagedSseEnabled: "true" },
  };
}

/**
 * Returns the settings with the given attributes applied, validated as SQS does. FifoQueue can
 * only be given at creation; FIFO-only attributes on a standard queue are unknown attributes.
 */
export function applyAttributes(
  current: QueueSettings,
  attributes: Record<string, string>,
  context: { creating: boolean; lookupDeadLetterTarget: DeadLetterTargetLookup },
): QueueSettings {
  const next: QueueSettings = { ...current, opaque: { ...current.opaque } };
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value !== "string") throw invalidAttributeValue(`Invalid value for the parameter ${name}.`);
    if (fifoOnlyNames.includes(name) && !current.fifo) throw invalidAttributeName(name);
    switch (name) {
      case "FifoQueue":
        if (!context.creating) throw invalidAttributeName(name);
        if (parseBoolean(name, value) !== current.fifo) {
          throw invalidParameterValue("The name of a FIFO queue must end with the .fifo suffix, and only FIFO queues may have that suffix.");
        }
        break;
      case "ContentBasedDeduplication":
        next.contentBasedDeduplication = parseBoolean(name, value);
        break;
      case "VisibilityTimeout":
        next.visibilityTimeout = parseInteger(name, value, 0, 43_200);
        break;
      case "MessageRetentionPeriod":
        next.messageRetentionPeriod = parseInteger(name, value, 60, 1_209_600);
        break;
      case "DelaySeconds":
        next.delaySeconds = parseInteger(name, value, 0, 900);
        break;
      case "MaximumMessageSize":
        next.maximumMessageSize = parseInteger(name, value, 1024, 1_048_576);
        break;
      case "ReceiveMessageWaitTimeSeconds":
        next.receiveMessageWaitTimeSeconds = parseInteger(name, value, 0, 20);
        break;
      case "RedrivePolicy":
        next.redrivePolicy = value === "" ? undefined : parseRedrivePolicy(value, current.fifo, context.lookupDeadLetterTarget);
        break;
      case "DeduplicationScope":
        if (value !== "queue" && value !== "messageGroup") throw invalidValue(name, value);
        next.deduplicationScope = value;
        break;
      case "FifoThroughputLimit":
        if (value !== "perQueue" && value !== "perMessageGroupId") throw invalidValue(name, value);
        next.fifoThroughputLimit = value;
        break;
      default:
        if (!opaqueNames.includes(name)) throw invalidAttributeName(name);
        next.opaque[name] = value;
    }
  }
  return next;
}

/** The settable attributes as GetQueueAttributes returns them. */
export function settingsToAttributes(settings: QueueSettings): Record<string, string> {
  const attributes: Record<string, string> = {
    VisibilityTimeout: String(settings.visibilityTimeout),
    MessageRetentionPeriod: String(settings.messageRetentionPeriod),
    DelaySeconds: String(settings.delaySeconds),
    MaximumMessageSize: String(settings.maximumMessageSize),
    ReceiveMessageWaitTimeSeconds: String(settings.receiveMessageWaitTimeSeconds),
    ...settings.opaque,
  };
  if (settings.redrivePolicy !== undefined) attributes.RedrivePolicy = JSON.stringify(settings.redrivePolicy);
  if (settings.fifo) {
    attributes.FifoQueue = "true";
    attributes.ContentBasedDeduplication = String(settings.contentBasedDeduplication);
    attributes.DeduplicationScope = settings.deduplicationScope;
    attributes.FifoThroughputLimit = settings.fifoThroughputLimit;
  }
  return attributes;
}

function parseRedrivePolicy(value: string, sourceIsFifo: boolean, lookup: DeadLetterTargetLookup): RedrivePolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw invalidParameterValue(`Value ${value} for parameter RedrivePolicy is invalid. Reason: Invalid JSON.`);
  }
  const policy = parsed as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown } | null;
  const reject = (reason: string) =>
    invalidParameterValue(`Value ${value} for parameter RedrivePolicy is invalid. Reason: ${reason}`);
  if (policy === null || typeof policy !== "object") throw reject("Redrive policy is not a JSON object.");
  if (typeof policy.deadLetterTargetArn !== "string") throw reject("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.");
  const maxReceiveCount = Number(policy.maxReceiveCount);
  if (policy.maxReceiveCount === undefined) throw reject("Redrive policy does not contain mandatory attribute: maxReceiveCount.");
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
    throw reject("Invalid value for maxReceiveCount: must be an integer from 1 to 1000.");
  }
  const target = lookup(policy.deadLetterTargetArn);
  if (target === undefined) throw reject("Dead letter target does not exist.");
  if (target.fifo !== sourceIsFifo) throw reject("Dead-letter queue must be same type of queue as the source.");
  return { deadLetterTargetArn: policy.deadLetterTargetArn, maxReceiveCount };
}

function parseBoolean(name: string, value: string): boolean {
  if (value.toLowerCase() === "true") return true;
  if (value.toLowerCase() === "false") return false;
  throw invalidValue(name, value);
}

function parseInteger(name: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || number < min || number > max) throw invalidValue(name, value);
  return number;
}

const invalidValue = (name: string, value: string) => invalidAttributeValue(`Invalid value for the parameter ${name}: ${value}.`);

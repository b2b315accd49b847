import type { SQSRecord } from "aws-lambda";
import type { AgentDeps } from "./deps.ts";

/**
 * One give-up of a job, as ops read it on a dead letter (azuchi-ops dlq show). `firstReceivedAt`
 * is when the first of the attempts that all failed was received: SQS keeps no earlier times.
 */
export interface FailureRecord {
  at: number;
  reason: string;
  attempts: number;
  receives: number;
  firstReceivedAt?: number;
}

/** The message attribute a replay carries back to AgentJobs, so a job given up again keeps its history. */
export const FAILURE_HISTORY_ATTRIBUTE = "failureHistory";
/** At most this many give-ups are kept (an attribute counts against the 256 KiB message size). */
const HISTORY_LIMIT = 20;

/**
 * Gives a job up to the dead-letter queue, with the reason, for ops to read and replay.
 * The agent does this itself — after its last counted attempt, or on the job's last receive
 * (consume-jobs.ts) — rather than leave it to the redrive policy, which moves a job without a
 * word to the user or a reason for ops. The attributes are read by packages/ops (dead-letter.ts).
 */
export async function sendToDeadLetters(deps: AgentDeps, record: SQSRecord, reason: string, attempts: number, options: { questionAnnounced?: boolean } = {}): Promise<void> {
  const now = Date.now();
  const receives = Number(record.attributes.ApproximateReceiveCount) || 1;
  const firstReceivedAt = Number(record.attributes.ApproximateFirstReceiveTimestamp) || undefined;
  const history = [...earlierFailures(record), { at: now, reason: reason.slice(0, 300), attempts, receives, ...(firstReceivedAt ? { firstReceivedAt } : {}) }].slice(-HISTORY_LIMIT);
  const first = history[0]!;
  const sqs = await deps.sqs();
  await sqs.client.send(
    new sqs.sdk.SendMessageCommand({
      QueueUrl: deps.settings.deadLetterQueueUrl,
      MessageBody: options.questionAnnounced ? withoutAnnounce(record.body) : record.body,
      MessageGroupId: record.attributes.MessageGroupId ?? "unknown",
      MessageDeduplicationId: record.messageId,
      MessageAttributes: {
        reason: { DataType: "String", StringValue: reason.slice(0, 1_000) || "unknown" },
        attempts: { DataType: "Number", StringValue: String(attempts) },
        receives: { DataType: "Number", StringValue: String(receives) },
        firstFailedAt: { DataType: "Number", StringValue: String(first.firstReceivedAt ?? first.at) },
        lastFailedAt: { DataType: "Number", StringValue: String(now) },
        [FAILURE_HISTORY_ATTRIBUTE]: { DataType: "String", StringValue: JSON.stringify(history) },
      },
    }),
  );
}

/** The give-ups before this one, carried by a replayed job; anything unreadable is dropped, not fatal. */
function earlierFailures(record: SQSRecord): FailureRecord[] {
  const text = record.messageAttributes?.[FAILURE_HISTORY_ATTRIBUTE]?.stringValue;
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((entry): entry is FailureRecord => typeof entry === "object" && entry !== null && typeof (entry as FailureRecord).at === "number" && typeof (entry as FailureRecord).reason === "string") : [];
  } catch {
    return [];
  }
}

/** The job's body without `announce`: its question was announced when it was given up (job-announced.ts). */
function withoutAnnounce(body: string): string {
  const { announce: _announced, ...job } = JSON.parse(body) as Record<string, unknown>;
  return JSON.stringify(job);
}

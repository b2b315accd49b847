import type { Message, MessageAttributeValue } from "@aws-sdk/client-sqs";
import { InvalidJobError, parseAgentJob, type AgentJob } from "@azuchi/core";
import { z } from "zod";

/** One give-up, as the agent records it on the dead letter (packages/agent/src/dead-letters.ts). */
const FailureRecord = z.object({
  at: z.number(),
  reason: z.string(),
  attempts: z.number(),
  receives: z.number(),
  firstReceivedAt: z.number().optional(),
});
export type FailureRecord = z.infer<typeof FailureRecord>;

/** The attributes a replay puts on the job it sends back, read again by the agent if it gives the job up once more. */
export const FAILURE_HISTORY_ATTRIBUTE = "failureHistory";
export const REPLAY_OF_ATTRIBUTE = "replayOf";

/** A message of the dead-letter queue, read for the operator. */
export interface DeadLetter {
  messageId: string;
  groupId: string;
  body: string;
  /** The azuchi job, or undefined when the body is not one (then `notAJob` says why). */
  job: AgentJob | undefined;
  notAJob: string | undefined;
  jobId: string | undefined;
  sessionId: string | undefined;
  userId: string | undefined;
  message: string | undefined;
  reason: string;
  /** Receives of the job on AgentJobs before it was given up (what the agent recorded, else SQS's count). */
  receiveCount: number;
  attempts: number | undefined;
  firstFailedAt: number | undefined;
  lastFailedAt: number | undefined;
  /** When it reached the dead-letter queue. */
  deadLetteredAt: number | undefined;
  /** "agent" when the agent gave it up with a reason; "redrive-policy" when SQS moved it after maxReceiveCount receives. */
  movedBy: "agent" | "redrive-policy";
  history: FailureRecord[];
  messageAttributes: Record<string, MessageAttributeValue>;
  systemAttributes: Record<string, string>;
}

const REDRIVE_REASON = "moved by the redrive policy without the agent: every receive crashed or timed out before it could give the job up";

export function toDeadLetter(message: Message): DeadLetter {
  const body = message.Body ?? "";
  const attributes = message.MessageAttributes ?? {};
  const system = (message.Attributes ?? {}) as Record<string, string>;
  let job: AgentJob | undefined;
  let notAJob: string | undefined;
  try {
    job = parseAgentJob(body);
  } catch (error) {
    if (!(error instanceof InvalidJobError)) throw error;
    notAJob = error.message;
  }
  const number = (name: string) => {
    const value = Number(attributes[name]?.StringValue);
    return attributes[name] === undefined || !Number.isFinite(value) ? undefined : value;
  };
  const history = parseHistory(attributes[FAILURE_HISTORY_ATTRIBUTE]?.StringValue);
  const agentReason = attributes.reason?.StringValue;
  const movedBy = agentReason === undefined ? "redrive-policy" : "agent";
  // Without the agent's record, SQS's count: a moved message keeps its receives on AgentJobs, and
  // every read of the DLQ (this one included, not counted here) adds one: approximate.
  const receiveCount = number("receives") ?? history.at(-1)?.receives ?? Math.max(0, Number(system.ApproximateReceiveCount ?? 1) - 1);
  const sentAt = Number(system.SentTimestamp) || undefined;
  return {
    messageId: message.MessageId ?? "",
    groupId: system.MessageGroupId ?? job?.sessionId ?? "",
    body,
    job,
    notAJob,
    jobId: job?.jobId,
    sessionId: job?.sessionId,
    userId: job?.userId,
    message: job?.message,
    reason: agentReason ?? (notAJob ? `not an azuchi job (${notAJob})` : REDRIVE_REASON),
    receiveCount,
    attempts: number("attempts"),
    firstFailedAt: number("firstFailedAt") ?? history[0]?.firstReceivedAt ?? history[0]?.at,
    lastFailedAt: number("lastFailedAt") ?? history.at(-1)?.at ?? (movedBy === "redrive-policy" ? sentAt : undefined),
    deadLetteredAt: sentAt,
    movedBy,
    history,
    messageAttributes: attributes,
    systemAttributes: system,
  };
}

function parseHistory(text: string | undefined): FailureRecord[] {
  if (!text) return [];
  try {
    const parsed = z.array(FailureRecord).safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

/** The history a replayed job carries, so a second give-up appends to it. */
export function historyAttribute(letter: DeadLetter): Record<string, MessageAttributeValue> {
  const history = letter.history.length > 0
    ? letter.history
    : [{ at: letter.lastFailedAt ?? letter.deadLetteredAt ?? Date.now(), reason: letter.reason.slice(0, 300), attempts: letter.attempts ?? letter.receiveCount, receives: letter.receiveCount }];
  return {
    [FAILURE_HISTORY_ATTRIBUTE]: { DataType: "String", StringValue: JSON.stringify(history.slice(-20)) },
    [REPLAY_OF_ATTRIBUTE]: { DataType: "String", StringValue: letter.messageId },
  };
}

/** What `--json` prints for a dead letter (and the export's `letter` field). */
export function letterJson(letter: DeadLetter) {
  return {
    messageId: letter.messageId,
    jobId: letter.jobId ?? null,
    sessionId: letter.sessionId ?? null,
    userId: letter.userId ?? null,
    message: letter.message ?? null,
    groupId: letter.groupId,
    isJob: letter.job !== undefined,
    receiveCount: letter.receiveCount,
    attempts: letter.attempts ?? null,
    reason: letter.reason,
    movedBy: letter.movedBy,
    firstFailedAt: iso(letter.firstFailedAt),
    lastFailedAt: iso(letter.lastFailedAt),
    deadLetteredAt: iso(letter.deadLetteredAt),
    history: letter.history.map((entry) => ({ ...entry, at: iso(entry.at), firstReceivedAt: iso(entry.firstReceivedAt) })),
  };
}

export function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

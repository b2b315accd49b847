import type { Message, MessageAttributeValue } from "@aws-sdk/client-sqs";
import { InvalidJobError, parseAgentJob, type AgentJob } from "@azuchi/core";
import * as z from "zod";

/** One give-up, as the agent records it on the dead letter (packages/agent/src/dead-letters.ts). */
const FailureRecord = z.object({
  at: z.number(),
  reason: z.string(),
  /** Absent for a move by the redrive policy: no attempt was counted by the agent. */
  attempts: z.number().optional(),
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
  /**
   * "agent" when the agent gave it up with a reason; "redrive-policy" when SQS moved it after
   * maxReceiveCount receives (then receiveCount is SQS's, lastFailedAt the job's SentTimestamp,
   * and `history` holds only earlier give-ups, if it was replayed).
   */
  movedBy: "agent" | "redrive-policy";
  history: FailureRecord[];
  messageAttributes: Record<string, MessageAttributeValue>;
  systemAttributes: Record<string, string>;
}

/**
 * The agent gives a job up with its reason; a letter without one was moved by the redrive policy
 * after maxReceiveCount receives, and why is not recorded: the agent may have crashed or timed out
 * on each, or known the reason and failed to send the dead letter itself. Ops do not guess.
 */
export const REDRIVE_REASON = "no reason recorded by the agent (moved by the redrive policy after its last receive)";

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
  // Moved by the redrive policy, the letter carries no record of this trip: a replayed job's history
  // is of its earlier give-ups. So SQS's count: a moved message keeps its receives on AgentJobs, and
  // every read of the DLQ (this one included, not counted here) adds one: approximate.
  const sqsReceives = Math.max(0, Number(system.ApproximateReceiveCount ?? 1) - 1);
  const receiveCount = movedBy === "redrive-policy" ? sqsReceives : number("receives") ?? history.at(-1)?.receives ?? sqsReceives;
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
    // The redrive policy records no time of its move: the last time known is the job's send to AgentJobs.
    lastFailedAt: movedBy === "redrive-policy" ? sentAt : number("lastFailedAt") ?? history.at(-1)?.at,
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
  // A letter the agent gave up ends its history with this give-up; one the redrive policy moved
  // does not: its move is added, so a later give-up's history keeps it.
  const at = letter.lastFailedAt ?? letter.deadLetteredAt ?? Date.now();
  const attempts = letter.attempts ?? (letter.movedBy === "agent" ? letter.receiveCount : undefined);
  const thisOne: FailureRecord = { at, reason: letter.reason.slice(0, 300), ...(attempts === undefined ? {} : { attempts }), receives: letter.receiveCount };
  const history = letter.history.length > 0 && letter.movedBy === "agent" ? letter.history : [...letter.history, thisOne];
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

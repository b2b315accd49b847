import { InvalidJobError, parseAgentJob, RedisUnavailableError, type AgentJob } from "@azuchi/core";
import { ChangeMessageVisibilityBatchCommand } from "@aws-sdk/client-sqs";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { sendToDeadLetters } from "../dead-letters.ts";
import { agentDeps, type AgentDeps } from "../deps.ts";
import { processFifoBatch, toBatchResponse, type RecordOutcome } from "../fifo-batch.ts";
import { describeError, reportFailedAttempt } from "../run-failures.ts";
import { TurnAbortedError } from "../turn-guard.ts";
import { runTurn, SessionBusyError, TurnFailedError } from "../turn.ts";

/** Time kept back from the Lambda's deadline to report the batch and change visibilities. */
const DEADLINE_MARGIN_MS = 10_000;

/** How long a failed attempt waits before SQS delivers it again: a few seconds, then more. */
export function retryDelaySeconds(attempt: number, baseSeconds = 2): number {
  return Math.min(baseSeconds * 4 ** Math.max(0, attempt - 1), 300);
}

/**
 * The AgentJobs consumer: sessions of the batch run concurrently, each in order; a failed
 * record and the later ones of its session go back to the queue, after a delay that grows
 * with the attempts; the last attempt's job goes to the dead-letter queue.
 */
export function createJobConsumer(getDeps: () => AgentDeps) {
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const deps = getDeps();
    const delays = new Map<string, number>();
    const outcomes = await processFifoBatch(event.Records, (record) => processRecord(deps, record, context, delays), {
      canStart: () => context.getRemainingTimeInMillis() > deps.settings.turnTimeoutMs + DEADLINE_MARGIN_MS,
    });
    await deferRetries(deps, outcomes, delays);
    return toBatchResponse(outcomes);
  };
}

export const handler = createJobConsumer(agentDeps);

async function processRecord(deps: AgentDeps, record: SQSRecord, context: Context, delays: Map<string, number>): Promise<void> {
  let job: AgentJob;
  try {
    job = parseAgentJob(record.body);
  } catch (error) {
    if (!(error instanceof InvalidJobError)) throw error;
    // No retry can mend a malformed job: straight to the dead letters, for ops.
    deps.logger.error("malformed job dead-lettered", { messageId: record.messageId, error });
    await sendToDeadLetters(deps, record, error.message, 0);
    return;
  }
  const logger = deps.logger.createChild({ persistentKeys: { sessionId: job.sessionId, jobId: job.jobId } });
  const receives = Number(record.attributes.ApproximateReceiveCount) || 1;
  try {
    const outcome = await runTurn(deps, job, { deadlineAt: Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS, logger });
    if (outcome.status === "duplicate") logger.info("job already completed; nothing posted");
    else logger.info(`turn ${outcome.status}`, { ...outcome });
  } catch (error) {
    if (error instanceof SessionBusyError) {
      logger.info("session busy; job will be retried when its lock has expired", { retryAfterMs: error.retryAfterMs });
      delays.set(record.messageId, Math.min(31, Math.ceil(error.retryAfterMs / 1000) + 1));
      throw error;
    }
    if (error instanceof TurnFailedError && error.cause instanceof TurnAbortedError && error.cause.reason === "lock-lost") {
      // Another delivery of this job holds the session now: not this job's failure, nothing to tell.
      logger.warn("turn lost its lock; the holder carries on");
      delays.set(record.messageId, 0);
      throw error;
    }
    await handleFailure(deps, record, job, error, receives, logger, delays);
  }
}

async function handleFailure(deps: AgentDeps, record: SQSRecord, job: AgentJob, error: unknown, receives: number, logger: Logger, delays: Map<string, number>) {
  const reason = describeError(error);
  // Without Redis the attempt cannot be counted: the notice is per receive, and the queue's
  // redrive policy is what finally dead-letters the job.
  const counted = error instanceof TurnFailedError;
  const attempt = counted ? await deps.turns.countFailure(job.jobId).catch(() => error.attempt) : receives;
  const final = counted && attempt >= deps.settings.maxAttempts;
  logger.error(final ? "turn failed; giving the job up" : "turn failed; will retry", { attempt, error: error as Error, redisDown: error instanceof RedisUnavailableError });
  // Positions carry the SQS message id, so a job replayed from the DLQ (a new message) has notices of its own.
  const at = `system:${record.messageId}`;
  if (final) {
    // Dead-lettered first: if that fails the record comes back and is given up again, with one notice.
    await sendToDeadLetters(deps, record, reason, attempt);
    await reportFailedAttempt(deps, job, { attempt, final, reason, position: `${at}:final` }, logger);
    await deps.turns.resetAttempts(job.jobId).catch((resetError: unknown) => logger.warn("attempts not reset", { error: resetError as Error }));
    return;
  }
  await reportFailedAttempt(deps, job, { attempt, final, reason, position: counted ? `${at}:attempt:${attempt}` : `${at}:receive:${receives}` }, logger);
  delays.set(record.messageId, retryDelaySeconds(attempt, deps.settings.retryBaseSeconds));
  throw error;
}

/** Shortens the failed records' visibility so a session is not blocked for the queue's whole timeout. */
async function deferRetries(deps: AgentDeps, outcomes: RecordOutcome[], delays: Map<string, number>): Promise<void> {
  const entries = outcomes.flatMap((outcome, i) => {
    if (outcome.status === "succeeded") return [];
    const delay =
      outcome.status === "failed"
        ? (delays.get(outcome.record.messageId) ?? retryDelaySeconds(1, deps.settings.retryBaseSeconds))
        : outcome.status === "after-failure"
          ? (delays.get(outcome.blockedBy.messageId) ?? retryDelaySeconds(1, deps.settings.retryBaseSeconds))
          : 0;
    return [{ Id: String(i), ReceiptHandle: outcome.record.receiptHandle, VisibilityTimeout: delay }];
  });
  for (let start = 0; start < entries.length; start += 10) {
    try {
      const { Failed = [] } = await deps.sqs.send(
        new ChangeMessageVisibilityBatchCommand({ QueueUrl: deps.settings.jobsQueueUrl, Entries: entries.slice(start, start + 10) }),
      );
      for (const failure of Failed) deps.logger.warn("could not shorten a failed job's visibility; it returns after the queue's timeout", { failure });
    } catch (error) {
      deps.logger.warn("could not shorten the visibility of failed jobs", { error: error as Error });
    }
  }
}

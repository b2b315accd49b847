import { InvalidJobError, parseAgentJob, type AgentJob } from "@azuchi/core/contracts";
import { agentMessageId } from "@azuchi/core/ids";
import { clearStop } from "@azuchi/core/redis";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { classifyFailure, type FailureClass } from "../classify-failure.ts";
import { countFailedAttempt } from "../job-attempts.ts";
import { announceGivenUp } from "../job-announced.ts";
import { sendToDeadLetters } from "../dead-letters.ts";
import { agentDeps, type AgentDeps } from "../deps.ts";
import { processFifoBatch, toBatchResponse, type RecordOutcome } from "../fifo-batch.ts";
import { reportFailedAttempt } from "../run-failures.ts";
import { recordFailure, recordGiveUp, recordQueueWait, recordTurnOutcome, withRunMetrics } from "../run-metrics.ts";
import { runTurn } from "../turn.ts";
import { SessionBusyError } from "../turn-errors.ts";

/** Time kept back from the Lambda's deadline to report the batch and change visibilities. */
const DEADLINE_MARGIN_MS = 10_000;

/** The longest a failed job waits before its retry, even when a model's retry-after asks more. */
const MAX_RETRY_DELAY_SECONDS = 900;

/** How long a failed attempt waits before SQS delivers it again: a few seconds, then more. */
export function retryDelaySeconds(attempt: number, baseSeconds = 2): number {
  return Math.min(baseSeconds * 4 ** Math.max(0, attempt - 1), 300);
}

/**
 * Where a receive stands against the queue's redrive limit. SQS delivers a job maxReceives
 * times and then moves it to the dead-letter queue itself, silently; so the last receive is
 * kept for giving the job up with the user told and the reason recorded, whatever the earlier
 * receives did (crashed, timed out, failed without Redis to count it). The receive before it
 * is the last that runs a turn: any failure there is final, since a retry would only be given up.
 */
export function receiveStage(receives: number, maxReceives: number): "run" | "last-run" | "give-up" {
  if (receives >= maxReceives) return "give-up";
  return receives >= maxReceives - 1 ? "last-run" : "run";
}

/**
 * The AgentJobs consumer: sessions of the batch run concurrently, each in order; a failed
 * record and the later ones of its session go back to the queue, after a delay that grows
 * with the attempts; the last attempt's job goes to the dead-letter queue.
 */
export function createJobConsumer(getDeps: () => AgentDeps) {
  return withRunMetrics(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const deps = getDeps();
    const delays = new Map<string, number>();
    const outcomes = await processFifoBatch(event.Records, (record) => processRecord(deps, record, context, delays), {
      canStart: () => context.getRemainingTimeInMillis() > deps.settings.turnTimeoutMs + DEADLINE_MARGIN_MS,
    });
    await deferRetries(deps, outcomes, delays);
    return toBatchResponse(outcomes);
  });
}

export const handler = createJobConsumer(agentDeps);

interface Receipt {
  record: SQSRecord;
  job: AgentJob;
  receives: number;
  stage: ReturnType<typeof receiveStage>;
  logger: Logger;
}

async function processRecord(deps: AgentDeps, record: SQSRecord, context: Context, delays: Map<string, number>): Promise<void> {
  let job: AgentJob;
  try {
    job = parseAgentJob(record.body);
  } catch (error) {
    if (!(error instanceof InvalidJobError)) throw error;
    // No retry can mend a malformed job: straight to the dead letters, for ops.
    deps.logger.error("malformed job dead-lettered", { messageId: record.messageId, error });
    recordGiveUp(error);
    await sendToDeadLetters(deps, record, error.message, 0);
    return;
  }
  const receives = Number(record.attributes.ApproximateReceiveCount) || 1;
  const stage = receiveStage(receives, deps.settings.maxReceives);
  recordQueueWait(record, job, receives);
  const logger = deps.logger.createChild({ persistentKeys: { sessionId: job.sessionId, jobId: job.jobId, receives } });
  const receipt: Receipt = { record, job, receives, stage, logger };
  const deadlineAt = () => Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS;
  for (;;) {
    try {
      const outcome = await runTurn(deps, job, { deadlineAt: deadlineAt(), logger, sqsMessageId: record.messageId, receiveCount: receives, finishOnlyAt: stage === "give-up" ? receives : undefined });
      recordTurnOutcome(outcome);
      if (outcome.status === "duplicate") logger.info("job already completed; nothing posted");
      else logger.info(`turn ${outcome.status}`, { ...outcome });
      return;
    } catch (error) {
      // The last receive cannot hand a busy job back: the holder may be another delivery of
      // this job about to complete it, so wait for the lock rather than give up under a reply.
      if (stage === "give-up" && error instanceof SessionBusyError && Date.now() + error.retryAfterMs < deadlineAt()) {
        await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs + 50));
        continue;
      }
      return await handleFailure(deps, receipt, error, classifyFailure(error), delays);
    }
  }
}

async function handleFailure(deps: AgentDeps, receipt: Receipt, error: unknown, failure: FailureClass, delays: Map<string, number>): Promise<void> {
  const { record, job, receives, stage, logger } = receipt;
  recordFailure(failure, error);
  if (stage !== "give-up") {
    if (failure.kind === "lock-lost") {
      // Another delivery of this job holds the session now (or the lock vanished): not this
      // job's failure, nothing to tell or count; a redelivery finishes what was stored.
      logger.warn("turn lost its lock; the holder carries on", { reason: failure.reason });
      delays.set(record.messageId, 0);
      throw error;
    }
    if (failure.kind === "busy") {
      logger.info("session busy; job will be retried when its lock has expired", { retryAfterMs: failure.retryAfterMs });
      delays.set(record.messageId, Math.min(31, Math.ceil(failure.retryAfterMs / 1000) + 1));
      throw error;
    }
  }
  // Counted in Redis when it can be, per SQS message, so a replay (a new message) starts afresh
  // whoever dead-lettered the job; without Redis the notice is per receive instead.
  const counted = failure.kind === "retryable" ? await countFailedAttempt(deps.redis, deps.keys, job.sessionId, job.jobId, record.messageId).catch(() => undefined) : undefined;
  const attempt = counted ?? receives;
  // A failure after the reply was stored only lacks the memory write, which the next receive
  // does without the model: it is retried up to the last receive, and never told to the user.
  const stored = failure.kind === "retryable" || failure.kind === "final" ? failure.silent : false;
  const final =
    failure.kind !== "retryable" ||
    stage === "give-up" ||
    (!stored && (stage === "last-run" || (counted !== undefined && counted >= deps.settings.maxAttempts)));
  const silent = stored || (final && (await replyStored(deps, job)));
  // Positions carry the SQS message id, so a job replayed from the DLQ (a new message) has notices of its own.
  const at = `system:${record.messageId}`;
  if (!final) {
    logger.error("turn failed; will retry", { attempt, counted: counted !== undefined, silent, reason: failure.reason, error: error as Error });
    await reportFailedAttempt(deps, job, { attempt, final, silent, reason: failure.reason, position: counted !== undefined ? `${at}:attempt:${attempt}` : `${at}:receive:${receives}` }, logger);
    // A model's retry-after is the least the job waits: retrying sooner is refused again.
    const askedSeconds = failure.kind === "retryable" && failure.retryAfterMs !== undefined ? Math.ceil(failure.retryAfterMs / 1000) : 0;
    delays.set(record.messageId, Math.min(Math.max(retryDelaySeconds(attempt, deps.settings.retryBaseSeconds), askedSeconds), MAX_RETRY_DELAY_SECONDS));
    throw error;
  }
  logger.error("turn failed; giving the job up", { attempt, stage, silent, reason: failure.reason, error: error as Error });
  recordGiveUp(error);
  // Told first, then dead-lettered: if the dead-lettering fails, the job comes back and is given
  // up again with the same notice (same position), or on its last receive the redrive policy
  // moves it — with the user already told either way.
  const tell = failure.kind === "final" ? failure.tell : undefined;
  const told = await reportFailedAttempt(deps, job, { attempt, final, silent, reason: failure.reason, position: `${at}:final`, tell }, logger);
  if (!told && !silent) logger.error("the user could not be told that the job was given up");
  // Announced as far as it got, so nothing stored waits on a replay that may never come.
  const questionAnnounced = await announceGivenUp(deps, job, logger);
  await sendToDeadLetters(deps, record, failure.reason, attempt, { questionAnnounced });
  // A stop meant for this job is spent. (Its attempts need no reset: a replay is a new message.)
  await clearStop(deps.redis, deps.keys, job.sessionId).catch((clearError: unknown) => logger.warn("stop flag not cleared", { error: clearError as Error }));
}

/** Whether the job's reply is stored (a failure before the turn could tell, Redis down, say): then the user has an answer. */
async function replyStored(deps: AgentDeps, job: AgentJob): Promise<boolean> {
  return (await deps.messages.findById(agentMessageId(job.jobId, "reply")).catch(() => undefined)) !== undefined;
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
      const sqs = await deps.sqs();
      const { Failed = [] } = await sqs.client.send(
        new sqs.sdk.ChangeMessageVisibilityBatchCommand({ QueueUrl: deps.settings.jobsQueueUrl, Entries: entries.slice(start, start + 10) }),
      );
      for (const failure of Failed) deps.logger.warn("could not shorten a failed job's visibility; it returns after the queue's timeout", { failure });
    } catch (error) {
      deps.logger.warn("could not shorten the visibility of failed jobs", { error: error as Error });
    }
  }
}

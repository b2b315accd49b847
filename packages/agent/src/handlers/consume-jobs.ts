import { processPartialResponse, SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import { parseAgentJob } from "@azuchi/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { agentDeps } from "../deps.ts";
import { reportFailedAttempt } from "../run-failures.ts";
import { runTurn, SessionBusyError } from "../turn.ts";

/**
 * The AgentJobs consumer. A failed record is reported in batchItemFailures, and so is every
 * later record of its session in the batch (FIFO: they must not overtake it).
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const processor = new SqsFifoPartialProcessorAsync();
  return processPartialResponse(event, processRecord, processor, { context, skipGroupOnError: true, throwOnFullBatchFailure: false });
}

async function processRecord(record: SQSRecord): Promise<void> {
  const deps = agentDeps();
  const job = parseAgentJob(record.body);
  const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
  const log = { sessionId: job.sessionId, jobId: job.jobId, attempt };
  try {
    const outcome = await runTurn(deps, job);
    if (outcome.status === "duplicate") deps.logger.info("job already completed; nothing posted", log);
    else deps.logger.info("turn completed", { ...log, durationMs: outcome.durationMs, toolCalls: outcome.toolCalls, posts: outcome.posts });
  } catch (error) {
    if (error instanceof SessionBusyError) {
      deps.logger.info("session busy; job will be retried", log);
    } else {
      deps.logger.error("turn failed", { ...log, error: error as Error });
      await reportFailedAttempt(deps, job, attempt, error);
    }
    throw error;
  }
}

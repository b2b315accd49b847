/**
 * How long an agent turn may take, how long SQS hides a job that is being answered, and how
 * many times a job is tried: one decision (`@azuchi/agent/job-timing`), used by the queue
 * (stacks/pipeline.ts), the consumer (stacks/agent.ts), the `sst dev` consumer
 * (stacks/dev/consume-agent-jobs.ts) and the local stack's queue and poller, so a job is hidden,
 * retried, dead-lettered and consumed as many at once locally as in AWS. Plain data, no SST globals. The turn timeout, the
 * lock's TTL, attempts and receives are the agent's defaults (defaults.ts).
 */
import { DEFAULT_LOCK_TTL_MS, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_RECEIVES, DEFAULT_TURN_TIMEOUT_MS } from "./defaults.ts";

export const jobTiming = {
  /**
   * AZUCHI_TURN_TIMEOUT_MS: the agent stops a turn after this (the agent's default). Up to 8
   * model steps and a streamed reply of up to 4,000 output tokens: about a minute and a half
   * on a slow model day.
   */
  turnTimeoutSeconds: DEFAULT_TURN_TIMEOUT_MS / 1000,
  /** The consumer starts a turn only with this much time to spare for reporting (consume-jobs.ts DEADLINE_MARGIN_MS). */
  reportMarginSeconds: 10,
  /** A cold start: the bundle loads, Redis connects (TLS), the first job is parsed. */
  coldStartSeconds: 30,
  /** The consumer's Lambda timeout: coldStart + turn + reportMargin, rounded up to three minutes. */
  consumerTimeoutSeconds: 180,
  /**
   * Records per invocation. One: the Lambda timeout then budgets exactly one turn, and a job's
   * receive count counts only its own attempts (in a larger batch the later jobs of a failed
   * session are received again too). Sessions still run at once: Lambda runs an invocation
   * per message group.
   */
  batchSize: 1,
  /** The session lock's TTL (AZUCHI_LOCK_TTL_MS, the agent's default): a crashed turn's lock frees this long after the crash. */
  sessionLockTtlSeconds: DEFAULT_LOCK_TTL_MS / 1000,
  /** From SQS handing a job to Lambda's poller to the function starting: a throttled invoke is retried. */
  invokeStartMarginSeconds: 30,
  /**
   * AZUCHI_MAX_ATTEMPTS: failed turns of a job before the agent gives it up to AgentJobsDlq
   * itself, with the reason, and tells the user (the agent's default).
   */
  maxAttempts: DEFAULT_MAX_ATTEMPTS,
  /**
   * The redrive policy's maxReceiveCount, above maxAttempts: receives the agent cannot count
   * (Redis down, a crash, a turn aborted for time) still use it up. The agent knows it
   * (AZUCHI_MAX_RECEIVES) and keeps the last receive for giving the job up with the user told
   * and the reason recorded, so no job reaches the DLQ through the redrive policy unannounced.
   */
  maxReceiveCount: DEFAULT_MAX_RECEIVES,
} as const;

/**
 * The queue's visibility timeout: at least the consumer's timeout (or SQS would hand a job
 * still being answered to a second turn; Lambda also refuses the mapping), plus the lock TTL
 * so a redelivery after a crash finds the lock free, plus the invoke margin: 240 s.
 * Not AWS's generic 6× the timeout (18 minutes): a turn that crashes (out of memory, a hung
 * event loop) cannot give its job back, so its session, FIFO-blocked behind that job, waits
 * this long for the retry. A failed turn that does not crash need not wait: the consumer sets
 * the failed record's visibility to its retry delay (2 s, 8 s, 32 s).
 */
export const VISIBILITY_TIMEOUT_SECONDS = visibilityTimeoutFor(jobTiming.consumerTimeoutSeconds);

/** The visibility timeout for a consumer with this timeout (the local stack's tests shorten it). */
export function visibilityTimeoutFor(consumerTimeoutSeconds: number): number {
  return Math.ceil(consumerTimeoutSeconds) + jobTiming.sessionLockTtlSeconds + jobTiming.invokeStartMarginSeconds;
}

/**
 * The consumer's event source mapping `maximumConcurrency` (2–1000; stacks/agent.ts), and the
 * local stack's poller's, which stands for production: a FIFO event source scales by message
 * group, one batch in flight per group, so without a cap a surge of sessions would take the
 * account's whole Lambda concurrency (1,000 by default) and open as many Redis connections and
 * OpenAI calls. Past the cap jobs wait in the queue, in order; the shared model limiter
 * (model-limiter.ts) then protects OpenAI's rate limit. A dev stage gets 5.
 */
export function consumerMaxConcurrency(production: boolean): number {
  return production ? 200 : 5;
}

/**
 * The agent's CloudWatch metrics (EMF through Powertools Metrics; docs/architecture.md §10):
 * what a turn did, how long it waited and took, what it cost in tokens, and why it failed.
 * Dimensions stay low-cardinality (service, stage, a failure's kind and reason code); never a
 * sessionId, userId or jobId. Every name here is charted by stacks/dashboard.ts (a test keeps
 * the two equal). Stored metrics are flushed once per invocation by withRunMetrics.
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Resource, type AgentJob } from "@azuchi/core";
import type { SQSRecord } from "aws-lambda";
import type { FailureClass } from "./classify-failure.ts";
import { ModelCallError, TurnFailedError } from "./turn-errors.ts";

export const METRICS_NAMESPACE = "azuchi";
export const AGENT_METRICS_SERVICE = "azuchi-ai-agent";

/** Every metric the agent emits, with its unit and the dimensions besides `service` and `stage`. */
export const AGENT_METRICS = {
  turnsCompleted: { name: "TurnsCompleted", unit: MetricUnit.Count, dimensions: [] },
  turnsStopped: { name: "TurnsStopped", unit: MetricUnit.Count, dimensions: [] },
  /** A redelivered job whose turn was already written: nothing posted. */
  turnsDuplicate: { name: "TurnsDuplicate", unit: MetricUnit.Count, dimensions: [] },
  /** Every failed attempt, whatever follows (retry, wait for the lock, give-up). */
  turnFailures: { name: "TurnFailures", unit: MetricUnit.Count, dimensions: ["kind", "reason"] },
  /** Jobs given up to the dead-letter queue by the agent (the user told). */
  jobsGivenUp: { name: "JobsGivenUp", unit: MetricUnit.Count, dimensions: ["reason"] },
  /** From the turn's start (lock taken) to the model's first streamed text. */
  timeToFirstToken: { name: "TimeToFirstToken", unit: MetricUnit.Milliseconds, dimensions: [] },
  /** A completed or stopped turn, from taking the lock to the reply written. */
  turnDuration: { name: "TurnDuration", unit: MetricUnit.Milliseconds, dimensions: [] },
  /** From the job's enqueue (SQS SentTimestamp, else the message's createdAt) to its first receive's start. */
  queueWait: { name: "QueueWait", unit: MetricUnit.Milliseconds, dimensions: [] },
  /** How long each model call waited for the shared model limit (model-limiter.ts); 0 when at once. */
  modelLimitWait: { name: "ModelLimitWait", unit: MetricUnit.Milliseconds, dimensions: [] },
  inputTokens: { name: "InputTokens", unit: MetricUnit.Count, dimensions: [] },
  outputTokens: { name: "OutputTokens", unit: MetricUnit.Count, dimensions: [] },
} as const;

type AgentMetric = (typeof AGENT_METRICS)[keyof typeof AGENT_METRICS];

/**
 * The SST stage (App, which SST gives every function), so stages sharing an account keep
 * their series apart; left out where SST's links are not set.
 */
export function stageDimension(): Record<string, string> {
  return "App" in Resource ? { stage: Resource.App.stage } : {};
}

/** Made on first use, inside an invocation: the links are read then, not when the module loads. */
let store: Metrics | undefined;
const metrics = () => (store ??= new Metrics({ namespace: METRICS_NAMESPACE, serviceName: AGENT_METRICS_SERVICE, defaultDimensions: stageDimension() }));

function add(metric: AgentMetric, value: number): void {
  metrics().addMetric(metric.name, metric.unit, value);
}

/** Metrics with dimensions of their own go out at once, in their own EMF document. */
function addWith(metric: AgentMetric, dimensions: Record<string, string>, value = 1): void {
  const single = metrics().singleMetric();
  single.addDimensions(dimensions);
  single.addMetric(metric.name, metric.unit, value);
}

/** Wraps a handler so what it stored is flushed when the invocation ends, even when it throws. */
export function withRunMetrics<A extends unknown[], R>(handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await handler(...args);
    } finally {
      // An invocation with nothing to report writes nothing (and no "no metrics" warning).
      if (store?.hasStoredMetrics()) store.publishStoredMetrics();
    }
  };
}

export function recordTurnOutcome(outcome: { status: "completed" | "stopped"; durationMs: number } | { status: "duplicate" }): void {
  if (outcome.status === "duplicate") return add(AGENT_METRICS.turnsDuplicate, 1);
  add(outcome.status === "completed" ? AGENT_METRICS.turnsCompleted : AGENT_METRICS.turnsStopped, 1);
  add(AGENT_METRICS.turnDuration, outcome.durationMs);
}

/** The first receive only: a later one's wait is the retry delay, not the queue's. */
export function recordQueueWait(record: SQSRecord, job: AgentJob, receives: number, now = Date.now()): void {
  if (receives !== 1) return;
  const sent = Number(record.attributes.SentTimestamp) || job.createdAt;
  add(AGENT_METRICS.queueWait, Math.max(0, now - sent));
}

/** Calls once per turn from onText: records the time from `startedAt` to the first text. */
export function firstTokenTimer(startedAt: number): () => void {
  let seen = false;
  return () => {
    if (seen) return;
    seen = true;
    add(AGENT_METRICS.timeToFirstToken, Date.now() - startedAt);
  };
}

export function recordModelLimitWait(waitedMs: number): void {
  add(AGENT_METRICS.modelLimitWait, waitedMs);
}

export function recordTokens(usage: { inputTokens: number; outputTokens: number }): void {
  add(AGENT_METRICS.inputTokens, usage.inputTokens);
  add(AGENT_METRICS.outputTokens, usage.outputTokens);
}

export function recordFailure(failure: FailureClass, error: unknown): void {
  addWith(AGENT_METRICS.turnFailures, { kind: failure.kind, reason: reasonCode(error) });
}

export function recordGiveUp(error: unknown): void {
  addWith(AGENT_METRICS.jobsGivenUp, { reason: reasonCode(error) });
}

/**
 * A short, low-cardinality code for a failure: the class of the error that caused it
 * (TurnFailedError's cause), e.g. "TurnDeadlineError", "ReceivesExhaustedError", or a model
 * failure's kind, "ModelCallError.rate-limit"; the full reason text stays in the logs and the dead letter.
 */
export function reasonCode(error: unknown): string {
  const root = error instanceof TurnFailedError ? error.cause : error;
  if (!(root instanceof Error)) return "NonError";
  // Every model failure is one class; its kind (rate-limit, quota, server, …) is what tells them apart.
  if (root instanceof ModelCallError) return `ModelCallError.${root.kind}`;
  // Some libraries (openai's errors among them) leave name as "Error": their class says more.
  const name = root.name && root.name !== "Error" ? root.name : root.constructor.name;
  const code = name.replace(/[^A-Za-z0-9_.-]/g, "").slice(0, 64);
  return code || "Error";
}

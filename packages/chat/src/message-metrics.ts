/**
 * The chat's CloudWatch metrics (EMF through Powertools Metrics; docs/architecture.md §10):
 * what became of each USER message putMessage submitted. Only the `service` and `stage` (SST's
 * App, so stages sharing an account keep their series apart) dimensions; never a
 * sessionId or userId. stacks/dashboard.ts charts every name here (a test keeps them equal).
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Resource, type SubmitResult } from "@azuchi/core";

export const CHAT_METRICS_SERVICE = "azuchi-chat";

export const CHAT_METRICS = {
  /** Stored and queued (a retry of a queued message counts again: it is acked again). */
  messagesAccepted: { name: "MessagesAccepted", unit: MetricUnit.Count, dimensions: [] },
  /** Refused by the user's message rate: nothing stored. */
  messagesRateLimited: { name: "MessagesRateLimited", unit: MetricUnit.Count, dimensions: [] },
  /** Stored, but its job did not reach the queue: the client is told to retry. */
  enqueueFailures: { name: "EnqueueFailures", unit: MetricUnit.Count, dimensions: [] },
} as const;

/** Made on first use, inside an invocation: the links are read then, not when the module loads. */
let store: Metrics | undefined;
const metrics = () =>
  (store ??= new Metrics({ namespace: "azuchi", serviceName: CHAT_METRICS_SERVICE, defaultDimensions: "App" in Resource ? { stage: Resource.App.stage } : {} }));

/** Counts one submit's result and flushes at once: one EMF line per message, as its invocation ends. */
export function recordSubmit(result: SubmitResult): void {
  // A message to a chat deleted meanwhile is the client's mistake, not a failure of ours: uncounted.
  if (result.status === "not_found") return;
  const metric =
    result.status === "enqueued" ? CHAT_METRICS.messagesAccepted : result.status === "rate_limited" ? CHAT_METRICS.messagesRateLimited : CHAT_METRICS.enqueueFailures;
  metrics().addMetric(metric.name, metric.unit, 1).publishStoredMetrics();
}

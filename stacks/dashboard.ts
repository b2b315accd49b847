/**
 * The CloudWatch dashboard `azuchi-<stage>` (docs/architecture.md §10): the handlers' EMF metrics
 * (namespace azuchi, by service; packages/agent/src/run-metrics.ts and
 * packages/chat/src/message-metrics.ts) beside the queues' depths. Failures and give-ups carry
 * a kind and a reason dimension whose values are not known here, so those graphs SEARCH for
 * every series. test/infra/dashboard.test.ts checks that every metric the code emits is charted.
 */
import type { Pipeline } from "./pipeline.ts";

export const METRICS_NAMESPACE = "azuchi";
const AGENT = "azuchi-ai-agent";
const CHAT = "azuchi-chat";

type Text = $util.Input<string>;

interface Widget {
  type: "metric";
  x: number;
  y: number;
  width: number;
  height: number;
  properties: Record<string, unknown>;
}

/** The body's inputs; each may be a deploy-time output. */
export interface DashboardInputs {
  /** The handlers add it as a dimension (SST's App.stage), so stages in one account stay apart. */
  stage: string;
  region: Text;
  jobsQueueName: Text;
  dlqName: Text;
}

const PERIOD = 300;

/** The widgets, laid out three to a row. */
export function dashboardWidgets(inputs: DashboardInputs): Widget[] {
  /** One metric of ours, with its stat and label. */
  const ours = (service: string, name: string, stat: string, label = `${name} ${stat}`): unknown[] => [
    METRICS_NAMESPACE, name, "service", service, "stage", inputs.stage, { stat, label },
  ];
  /** Every series of a metric whatever its kind/reason dimensions, summed per period. */
  const search = (service: string, name: string, dimensions: string[], id: string): unknown[] => {
    const schema = [METRICS_NAMESPACE, "service", "stage", ...dimensions].join(",");
    return [{ expression: `SEARCH('{${schema}} MetricName="${name}" service="${service}" stage="${inputs.stage}"', 'Sum', ${PERIOD})`, id, label: "" }];
  };
  const graphs: { title: string; metrics: unknown[][]; stacked?: boolean }[] = [
    {
      title: "Turns",
      metrics: [ours(AGENT, "TurnsCompleted", "Sum"), ours(AGENT, "TurnsStopped", "Sum"), ours(AGENT, "TurnsDuplicate", "Sum")],
      stacked: true,
    },
    { title: "Failed attempts by kind and reason", metrics: [search(AGENT, "TurnFailures", ["kind", "reason"], "failures")] },
    { title: "Jobs given up by reason", metrics: [search(AGENT, "JobsGivenUp", ["reason"], "givenup")] },
    { title: "Time to first token (ms)", metrics: [ours(AGENT, "TimeToFirstToken", "p50"), ours(AGENT, "TimeToFirstToken", "p95")] },
    { title: "Turn duration (ms)", metrics: [ours(AGENT, "TurnDuration", "p50"), ours(AGENT, "TurnDuration", "p95")] },
    { title: "Queue wait, enqueue to start (ms)", metrics: [ours(AGENT, "QueueWait", "p50"), ours(AGENT, "QueueWait", "p95"), ours(AGENT, "QueueWait", "Maximum")] },
    { title: "Wait for the shared model limit, per call (ms)", metrics: [ours(AGENT, "ModelLimitWait", "p95"), ours(AGENT, "ModelLimitWait", "Maximum")] },
    { title: "Tokens", metrics: [ours(AGENT, "InputTokens", "Sum"), ours(AGENT, "OutputTokens", "Sum"), ours(AGENT, "OutputTokens", "p95", "OutputTokens p95 per turn")] },
    {
      title: "Messages",
      metrics: [ours(CHAT, "MessagesAccepted", "Sum"), ours(CHAT, "MessagesRateLimited", "Sum"), ours(CHAT, "EnqueueFailures", "Sum")],
    },
    {
      title: "Queues",
      metrics: [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", inputs.jobsQueueName, { stat: "Maximum", label: "AgentJobs waiting" }],
        ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", inputs.jobsQueueName, { stat: "Maximum", label: "AgentJobs in flight" }],
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", inputs.dlqName, { stat: "Maximum", label: "Dead letters" }],
        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", inputs.jobsQueueName, { stat: "Maximum", label: "Oldest job (s)", yAxis: "right" }],
      ],
    },
  ];
  return graphs.map((graph, i) => ({
    type: "metric",
    x: (i % 3) * 8,
    y: Math.floor(i / 3) * 6,
    width: 8,
    height: 6,
    properties: { title: graph.title, region: inputs.region, view: "timeSeries", stacked: graph.stacked ?? false, period: PERIOD, metrics: graph.metrics },
  }));
}

export function createDashboard({ pipeline }: { pipeline: Pipeline }) {
  const dashboard = new aws.cloudwatch.Dashboard("Dashboard", {
    dashboardName: `azuchi-${$app.stage}`,
    dashboardBody: $jsonStringify({
      widgets: dashboardWidgets({
        stage: $app.stage,
        region: aws.getRegionOutput().region,
        jobsQueueName: pipeline.queue.nodes.queue.name,
        dlqName: pipeline.dlq.nodes.queue.name,
      }),
    }),
  });
  return { dashboard };
}

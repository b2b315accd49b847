import { isProductionStage } from "./defaults.ts";
import { highThroughputFifo, OLDEST_JOB_ALARM_SECONDS } from "./scaling.ts";
import { jobTiming, VISIBILITY_TIMEOUT_SECONDS } from "@azuchi/agent/job-timing";

/**
 * The pipeline between the two services: the AgentJobs FIFO queue (one message group per
 * session) with its FIFO dead-letter queue, the Events bus, and the alarms that say a job was
 * given up. The consumer itself is in agent.ts.
 */

export const queueSettings = {
  AgentJobs: {
    fifo: true,
    ...highThroughputFifo,
    visibilityTimeout: `${VISIBILITY_TIMEOUT_SECONDS} seconds`,
    /** Four days: under `sst dev` jobs wait here while it is stopped (see agent.ts). */
    retentionSeconds: 4 * 24 * 3600,
  },
  AgentJobsDlq: {
    fifo: true,
    // A replayed or redriven job goes back in its session's group: the same mode on both ends.
    ...highThroughputFifo,
    visibilityTimeout: "30 seconds",
    /** SQS's maximum, so ops have two weeks to read a failed job and replay it. */
    retentionSeconds: 14 * 24 * 3600,
  },
} as const;

export function createPipeline() {
  const production = isProductionStage($app.stage);

  const dlq = new sst.aws.Queue("AgentJobsDlq", {
    fifo: queueSettings.AgentJobsDlq.fifo,
    visibilityTimeout: queueSettings.AgentJobsDlq.visibilityTimeout,
    transform: {
      queue: (args) => {
        args.messageRetentionSeconds = queueSettings.AgentJobsDlq.retentionSeconds;
        args.deduplicationScope = queueSettings.AgentJobsDlq.deduplicationScope;
        args.fifoThroughputLimit = queueSettings.AgentJobsDlq.fifoThroughputLimit;
      },
    },
  });
  const queue = new sst.aws.Queue("AgentJobs", {
    fifo: queueSettings.AgentJobs.fifo,
    visibilityTimeout: queueSettings.AgentJobs.visibilityTimeout,
    dlq: { queue: dlq.arn, retry: jobTiming.maxReceiveCount },
    transform: {
      queue: (args) => {
        args.messageRetentionSeconds = queueSettings.AgentJobs.retentionSeconds;
        args.deduplicationScope = queueSettings.AgentJobs.deduplicationScope;
        args.fifoThroughputLimit = queueSettings.AgentJobs.fifoThroughputLimit;
      },
    },
  });

  const events = new sst.aws.Bus("Events");

  // Alarms go to this topic; subscribe ops to it (AZUCHI_ALARM_EMAIL when deploying, or later).
  const alarms = new sst.aws.SnsTopic("Alarms");
  const alarmEmail = process.env.AZUCHI_ALARM_EMAIL;
  if (alarmEmail) {
    new aws.sns.TopicSubscription("AlarmsEmail", { topic: alarms.arn, protocol: "email", endpoint: alarmEmail });
  }

  // A job in the DLQ is a user who was told "gave up": someone should look at AgentRunFailed.
  new aws.cloudwatch.MetricAlarm("AgentJobsDlqNotEmpty", {
    alarmDescription: "An agent job was given up after all its attempts (see AgentRunFailed events; replay from AgentJobsDlq).",
    namespace: "AWS/SQS",
    metricName: "ApproximateNumberOfMessagesVisible",
    dimensions: { QueueName: dlq.nodes.queue.name },
    statistic: "Maximum",
    period: 300,
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "notBreaching",
    alarmActions: [alarms.arn],
    okActions: production ? [alarms.arn] : [],
  });

  // Jobs that wait this long mean a consumer stuck or far behind (at maximumConcurrency, say).
  new aws.cloudwatch.MetricAlarm("AgentJobsOldestMessage", {
    alarmDescription: `A job has waited over ${OLDEST_JOB_ALARM_SECONDS} s in AgentJobs: the consumer is stuck, failing, or held at its maximumConcurrency (stacks/scaling.ts).`,
    namespace: "AWS/SQS",
    metricName: "ApproximateAgeOfOldestMessage",
    dimensions: { QueueName: queue.nodes.queue.name },
    statistic: "Maximum",
    period: 60,
    evaluationPeriods: 5,
    threshold: OLDEST_JOB_ALARM_SECONDS,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "notBreaching",
    alarmActions: [alarms.arn],
    okActions: production ? [alarms.arn] : [],
  });

  return { queue, dlq, events, alarms };
}

export type Pipeline = ReturnType<typeof createPipeline>;

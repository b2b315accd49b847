import { beforeAll, describe, expect, it } from "vitest";
import { jobTiming } from "@azuchi/agent/job-timing";
import { callsOf, component, functionsOf, loadInfrastructure, pathOf, seconds, type FunctionRecord, type Infrastructure } from "./fake-sst.ts";

const CONSUMER = "packages/agent/src/handlers/consume-jobs.handler";

describe("the AgentJobs pipeline, as `sst deploy --stage prod` builds it", () => {
  let infra: Infrastructure;
  let consumer: FunctionRecord;
  beforeAll(async () => {
    infra = await loadInfrastructure({ stage: "prod", dev: false });
    consumer = functionsOf(infra).get(CONSUMER)!;
  });

  it("makes both queues FIFO, so a session's jobs keep their order even when given up", () => {
    expect(component(infra, "AgentJobs").args.fifo).toBe(true);
    expect(component(infra, "AgentJobsDlq").args.fifo).toBe(true);
  });

  it("makes both queues high-throughput FIFO: deduplication and the throughput quota per message group (a session)", () => {
    for (const name of ["AgentJobs", "AgentJobsDlq"]) {
      const queueArgs: Record<string, unknown> = {};
      (component(infra, name).args.transform as { queue: (args: Record<string, unknown>) => void }).queue(queueArgs);
      expect(queueArgs).toMatchObject({ deduplicationScope: "messageGroup", fifoThroughputLimit: "perMessageGroupId" });
    }
  });

  it("redrives AgentJobs into AgentJobsDlq after maxReceiveCount receives", () => {
    const dlq = component(infra, "AgentJobs").args.dlq as { queue: unknown; retry: number };
    expect(pathOf(dlq.queue)).toBe("AgentJobsDlq.arn");
    expect(dlq.retry).toBe(jobTiming.maxReceiveCount);
  });

  it("lets the agent give a job up itself (with its reason) before the redrive policy would", () => {
    expect(consumer.environment?.AZUCHI_MAX_ATTEMPTS).toBe(String(jobTiming.maxAttempts));
    expect(jobTiming.maxAttempts).toBeLessThan(jobTiming.maxReceiveCount);
  });

  it("tells the agent the redrive limit, so it keeps the last receive for giving a job up out loud", () => {
    expect(consumer.environment?.AZUCHI_MAX_RECEIVES).toBe(String(jobTiming.maxReceiveCount));
    // Attempts, then one receive to give up: a job runs out of attempts before it runs out of receives.
    expect(jobTiming.maxAttempts + 1).toBeLessThanOrEqual(jobTiming.maxReceiveCount);
  });

  it("subscribes the consumer with partial batch responses", () => {
    const [subscription] = callsOf(infra, "AgentJobs", "subscribe");
    expect(subscription).toBeDefined();
    expect((subscription!.args[0] as FunctionRecord).handler).toBe(CONSUMER);
    expect(subscription!.args[1]).toMatchObject({ batch: { partialResponses: true, size: jobTiming.batchSize } });
  });

  it("gives the consumer time for a whole turn: cold start, the turn, and the report margin", () => {
    const timeout = seconds(consumer.timeout);
    expect(timeout).toBe(jobTiming.consumerTimeoutSeconds);
    expect(consumer.environment?.AZUCHI_TURN_TIMEOUT_MS).toBe(String(jobTiming.turnTimeoutSeconds * 1000));
    // The consumer starts a turn only if turn + margin still fit before the deadline.
    expect(timeout).toBeGreaterThanOrEqual(jobTiming.coldStartSeconds + jobTiming.turnTimeoutSeconds + jobTiming.reportMarginSeconds);
    expect(timeout).toBeLessThanOrEqual(900);
  });

  it("hides a job for at least the consumer's timeout plus the lock TTL, but not AWS's 6×", () => {
    const visibility = seconds(component(infra, "AgentJobs").args.visibilityTimeout);
    const timeout = seconds(consumer.timeout);
    // Shorter, and a job still being answered would be handed to a second turn.
    expect(visibility).toBeGreaterThanOrEqual(timeout + jobTiming.sessionLockTtlSeconds);
    // Much longer, and a crashed turn blocks its session (FIFO) for that long before the retry.
    expect(visibility).toBeLessThanOrEqual(timeout + 120);
  });

  it("keeps dead letters for SQS's maximum of 14 days", () => {
    const transform = (component(infra, "AgentJobsDlq").args.transform as { queue: (args: Record<string, unknown>) => void }).queue;
    const queueArgs: Record<string, unknown> = {};
    transform(queueArgs);
    expect(queueArgs.messageRetentionSeconds).toBe(14 * 24 * 3600);
  });

  it("alarms when a job lands in the dead-letter queue", () => {
    const alarm = infra.components.find(
      (c) => c.type === "aws.cloudwatch.MetricAlarm" && c.args.namespace === "AWS/SQS" && c.args.metricName === "ApproximateNumberOfMessagesVisible",
    );
    expect(alarm, "an alarm on the DLQ's depth").toBeDefined();
    expect(pathOf((alarm!.args.dimensions as Record<string, unknown>).QueueName)).toBe("AgentJobsDlq.nodes.queue.name");
    expect(alarm!.args).toMatchObject({ threshold: 0, comparisonOperator: "GreaterThanThreshold" });
    expect((alarm!.args.alarmActions as unknown[]).map(pathOf)).toContain("Alarms.arn");
  });

  it("alarms on consumer errors: crashes (Lambda Errors) and failed turns (ERROR logs)", () => {
    const alarms = infra.components.filter((c) => c.type === "aws.cloudwatch.MetricAlarm");
    const crashes = alarms.find((c) => c.args.namespace === "AWS/Lambda" && c.args.metricName === "Errors");
    expect(crashes, "an alarm on the consumer's Lambda Errors").toBeDefined();
    expect(pathOf((crashes!.args.dimensions as Record<string, unknown>).FunctionName)).toMatch(/^AgentJobs\.subscribe\(.*\)\.nodes\.function\.apply/);

    const filter = infra.components.find((c) => c.type === "aws.cloudwatch.LogMetricFilter");
    expect(filter?.args.pattern).toBe('{ $.level = "ERROR" }');
    expect(pathOf(filter?.args.logGroupName)).toMatch(/^AgentJobs\.subscribe\(.*\)\.nodes\.function\.apply/);
    const transformation = filter!.args.metricTransformation as { namespace: string; name: string };
    const failedTurns = alarms.find((c) => c.args.namespace === transformation.namespace && c.args.metricName === transformation.name);
    expect(failedTurns, "an alarm on the failed-turn metric").toBeDefined();
    for (const alarm of [crashes!, failedTurns!]) expect((alarm.args.alarmActions as unknown[]).map(pathOf)).toContain("Alarms.arn");
  });

  it("routes AgentRunCompleted events from the agent to chat's session titles", () => {
    const [subscription] = callsOf(infra, "Events", "subscribe");
    expect((subscription!.args[1] as FunctionRecord).handler).toBe("packages/chat/src/handlers/session-titles.handler");
    expect(subscription!.args[2]).toEqual({ pattern: { source: ["azuchi.ai-agent"], detailType: ["AgentRunCompleted"] } });
  });
});

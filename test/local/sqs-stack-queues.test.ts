import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobTiming, VISIBILITY_TIMEOUT_SECONDS } from "@azuchi/agent/job-timing";
import { highThroughputFifo } from "../../stacks/scaling.ts";
import { stackSqs, startTestStack, type TestStack } from "../support/stack.ts";

let stack: TestStack;
let sqs: SQSClient;

beforeAll(async () => {
  stack = await startTestStack();
  sqs = stackSqs(stack);
});
afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
});

describe("the local stack's AgentJobs queue", () => {
  it("hides, retries and dead-letters jobs with the deployed numbers (@azuchi/agent/job-timing)", async () => {
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.queues.jobs, AttributeNames: ["VisibilityTimeout", "RedrivePolicy"] }));
    const { Attributes: dlq } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.queues.dlq, AttributeNames: ["QueueArn"] }));
    expect(Number(Attributes?.VisibilityTimeout)).toBe(VISIBILITY_TIMEOUT_SECONDS);
    expect(JSON.parse(Attributes?.RedrivePolicy ?? "{}")).toEqual({ deadLetterTargetArn: dlq?.QueueArn, maxReceiveCount: jobTiming.maxReceiveCount });
  });

  it("is high-throughput FIFO like the deployed queues, its DLQ too (stacks/pipeline.ts)", async () => {
    const names = ["DeduplicationScope", "FifoThroughputLimit"] as const;
    const expected = { DeduplicationScope: highThroughputFifo.deduplicationScope, FifoThroughputLimit: highThroughputFifo.fifoThroughputLimit };
    for (const url of [stack.queues.jobs, stack.queues.dlq]) {
      expect((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [...names] }))).Attributes).toEqual(expected);
    }
  });
});

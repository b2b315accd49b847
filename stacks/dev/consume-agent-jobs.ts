/**
 * AgentJobs' consumer under `sst dev` (stacks/agent.ts, DEV_CONSUMER_COMMAND): polls the stage's
 * queue from this machine and hands each batch to the handler the deployed Lambda subscription
 * runs, the way the event source mapping would (partial batch responses, the same timeout).
 * It lives and dies with `sst dev`: when sst dev is stopped nothing receives the jobs, so they
 * wait in the queue instead of being "answered" by a stub and deleted.
 */
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { handler } from "@azuchi/agent/handlers/consume-jobs";
import { invokeLambda, startSqsPoller } from "@azuchi/local/runtime";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { Resource } from "sst";
import { jobTiming } from "@azuchi/agent/job-timing";

const client = new SQSClient({});
const queueUrl = Resource.AgentJobs.url;
const functionName = "AgentJobsConsumer (sst dev)";

/**
 * The queue's ARN as the queue itself gives it (each record's eventSourceARN, its region the
 * record's awsRegion), rather than parsed out of the URL: a URL's form depends on the endpoint
 * (sqs.<region>.amazonaws.com, the legacy <region>.queue.amazonaws.com, a VPC endpoint, the
 * local stack's emulator), the ARN's does not.
 */
async function queueArnOf(url: string): Promise<string> {
  const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  if (!Attributes?.QueueArn) throw new Error(`${url} did not give its QueueArn`);
  return Attributes.QueueArn;
}

const poller = startSqsPoller({
  client,
  queueUrl,
  queueArn: await queueArnOf(queueUrl),
  batchSize: jobTiming.batchSize,
  // Lambda runs up to one invocation per message group; ten sessions at once is plenty on a laptop.
  maxConcurrency: 10,
  waitTimeSeconds: 5,
  invoke: (event: SQSEvent) =>
    invokeLambda<SQSEvent, SQSBatchResponse>(handler, event, { functionName, timeoutMs: jobTiming.consumerTimeoutSeconds * 1000 }),
});
console.log(`consuming ${queueUrl} (batch size ${jobTiming.batchSize}); jobs wait in the queue while sst dev is stopped`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    // Turns in flight finish; a job received meanwhile goes back to the queue at once.
    void poller.stop().then(() => process.exit(0));
  });
}

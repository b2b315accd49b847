/**
 * AgentJobs' consumer under `sst dev` (stacks/agent.ts, DEV_CONSUMER_COMMAND): polls the stage's
 * queue from this machine and hands each batch to the handler the deployed Lambda subscription
 * runs, the way the event source mapping would (partial batch responses, the same timeout).
 * It lives and dies with `sst dev`: when sst dev is stopped nothing receives the jobs, so they
 * wait in the queue instead of being "answered" by a stub and deleted.
 */
import { SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { Resource } from "sst";
import { handler } from "../../packages/agent/src/handlers/consume-jobs.ts";
import { invokeLambda } from "../../packages/local/src/lambda.ts";
import { startSqsPoller } from "../../packages/local/src/sqs/index.ts";
import { jobTiming } from "../job-timing.ts";

/** https://sqs.<region>.amazonaws.com/<account>/<name> → arn:aws:sqs:<region>:<account>:<name> */
export function queueArnFromUrl(url: string): string {
  const { hostname, pathname } = new URL(url);
  const region = hostname.split(".")[1];
  const [account, name] = pathname.split("/").filter(Boolean);
  if (!region || !account || !name) throw new Error(`not an SQS queue URL: ${url}`);
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

const queueUrl = Resource.AgentJobs.url;
const functionName = "AgentJobsConsumer (sst dev)";

const poller = startSqsPoller({
  client: new SQSClient({}),
  queueUrl,
  queueArn: queueArnFromUrl(queueUrl),
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

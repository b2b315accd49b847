import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import * as z from "zod";
import { OpsError } from "./errors.ts";
import { call } from "./sqs-calls.ts";

export const DEFAULT_LOCAL_URL = "http://127.0.0.1:3000";

export interface QueueRef {
  url: string;
  /** Learnt from the target, or with GetQueueAttributes when a command needs it (redrive). */
  arn?: string;
}

/** Where the commands act: the local stack (its emulator) or a deployed stage's queues. */
export interface Target {
  kind: "local" | "aws";
  sqs: SQSClient;
  jobs: QueueRef;
  dlq: QueueRef;
  /** The local stack's base URL (GET /dev/events, /dev/metrics). */
  localUrl?: string;
  /** The SST stage on AWS, for the dashboard's name. */
  stage?: string;
}

export interface TargetOptions {
  local?: string;
  queueUrl?: string;
  dlqUrl?: string;
}

const DevResources = z.object({
  region: z.string(),
  sqs: z.object({
    endpoint: z.url(),
    jobs: z.object({ url: z.url(), arn: z.string() }),
    dlq: z.object({ url: z.url(), arn: z.string() }),
  }),
});

/** Local: asks the stack (GET /dev/resources). AWS: the resources `sst shell` links, as the handlers read them; the flags override either. */
export async function resolveTarget(options: TargetOptions): Promise<Target> {
  if (options.local !== undefined) return localTarget(options);
  let jobsUrl = options.queueUrl;
  let dlqUrl = options.dlqUrl;
  let stage: string | undefined = process.env.SST_STAGE;
  if (jobsUrl === undefined || dlqUrl === undefined) {
    const linked = await linkedResources();
    jobsUrl ??= linked.jobs;
    dlqUrl ??= linked.dlq;
    stage = linked.stage ?? stage;
  }
  // The queue lives in the region its URL names (without AWS_REGION the SDK would not start; with
  // another, it would sign for the wrong region); a URL that names none leaves it to the SDK.
  const region = regionOfQueueUrl(jobsUrl) ?? regionOfQueueUrl(dlqUrl);
  return { kind: "aws", sqs: new SQSClient(region ? { region } : {}), jobs: { url: jobsUrl }, dlq: { url: dlqUrl }, ...(stage ? { stage } : {}) };
}

/** `https://sqs.<region>.amazonaws.com[.cn]/<account>/<name>` (or the legacy `<region>.queue.amazonaws.com`) → the region. */
export function regionOfQueueUrl(url: string): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return undefined;
  }
  return /^sqs(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(host)?.[1] ?? /^([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?$/.exec(host)?.[1];
}

/** `127.0.0.1:3917` or `localhost:3000` as an operator types it: http:// is meant. */
export function localBaseUrl(local: string | undefined): string {
  const url = (local || DEFAULT_LOCAL_URL).trim().replace(/\/+$/, "");
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
}

async function localTarget(options: TargetOptions): Promise<Target> {
  const base = localBaseUrl(options.local);
  let response: Response;
  try {
    response = await fetch(`${base}/dev/resources`);
  } catch {
    throw new OpsError(`no local stack answers at ${base} (start it with npm start, or give its URL: --local http://127.0.0.1:<port>)`);
  }
  if (response.status !== 200) throw new OpsError(`${base} is not an azuchi local stack: GET /dev/resources answered ${response.status}`);
  const parsed = DevResources.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new OpsError(`${base}/dev/resources answered something azuchi-ops cannot read: ${z.prettifyError(parsed.error)}`);
  const { region, sqs } = parsed.data;
  const client = new SQSClient({ region, endpoint: sqs.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  return {
    kind: "local",
    sqs: client,
    jobs: options.queueUrl ? { url: options.queueUrl } : sqs.jobs,
    dlq: options.dlqUrl ? { url: options.dlqUrl } : sqs.dlq,
    localUrl: base,
  };
}

async function linkedResources(): Promise<{ jobs: string; dlq: string; stage?: string }> {
  const hint = "run under `npx sst shell --stage <stage> -- npm run ops -- …`, pass --queue-url and --dlq-url, or use --local";
  if (!Object.keys(process.env).some((name) => name.startsWith("SST_RESOURCE_"))) throw new OpsError(`no target: ${hint}`);
  try {
    const { Resource } = await import("sst");
    const linked = Resource as unknown as Record<string, { url?: string; stage?: string } | undefined>;
    const jobs = linked.AgentJobs?.url;
    const dlq = linked.AgentJobsDlq?.url;
    if (!jobs || !dlq) throw new Error("missing");
    let stage: string | undefined;
    try {
      stage = linked.App?.stage;
    } catch {
      stage = undefined;
    }
    return { jobs, dlq, ...(stage ? { stage } : {}) };
  } catch {
    throw new OpsError(`AgentJobs / AgentJobsDlq are not linked here: ${hint}`);
  }
}

/** The queue's ARN (for StartMessageMoveTask), asked once. */
export async function queueArn(target: Target, queue: QueueRef): Promise<string> {
  if (queue.arn) return queue.arn;
  const { Attributes } = await call("GetQueueAttributes", queue.url, () => target.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ["QueueArn"] })));
  if (!Attributes?.QueueArn) throw new OpsError(`SQS did not say the ARN of ${queue.url}`);
  queue.arn = Attributes.QueueArn;
  return queue.arn;
}

/** Counts of a queue, and a refusal of any queue that is not FIFO (azuchi's jobs keep their sessions' order only on FIFO). */
export async function queueCounts(target: Target, queue: QueueRef): Promise<{ visible: number; inFlight: number; delayed: number }> {
  const { Attributes = {} } = await call("GetQueueAttributes", queue.url, () =>
    target.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ["All"] })),
  );
  if (Attributes.FifoQueue !== "true") throw new OpsError(`${queue.url} is not a FIFO queue: azuchi's AgentJobs and its dead-letter queue are FIFO (check --queue-url/--dlq-url)`);
  if (Attributes.QueueArn) queue.arn ??= Attributes.QueueArn;
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

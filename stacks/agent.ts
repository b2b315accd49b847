import { agentTopology, deployedHandler, routesOf } from "../packages/core/src/topology.ts";
import { authEnvironment, functionArgs, isProductionStage, logRetention, redisEnvironment } from "./defaults.ts";
import { consumerMaxConcurrency, jobTiming } from "@azuchi/agent/job-timing";
import type { Chat } from "./chat.ts";
import type { Pipeline } from "./pipeline.ts";
import type { Storage } from "./storage.ts";

/**
 * azuchi-ai-agent: the AgentJobs consumer (in the VPC, for Redis; through NAT to OpenAI), the
 * AgentApi HTTP API with its Lambda authorizer (docs/architecture.md §6), and the consumer's alarms.
 * Its handlers and routes are agentTopology's (packages/core/src/topology.ts), which the local
 * stack serves too.
 */

/**
 * Under `sst dev`, this command consumes AgentJobs on your machine instead of a Lambda
 * subscription. sst dev's stub functions answer "sst dev is not running" as a *successful*
 * invocation when sst dev is stopped, and SQS deletes every job such a stub "answers". A
 * poller that lives inside `sst dev` stops with it, and the jobs wait in the queue.
 */
// npm exec puts node_modules/.bin first on PATH, so the consumer runs on the project's Node 24
// (type stripping) whatever node the developer's shell has.
export const DEV_CONSUMER_COMMAND = "npm exec --offline -- node stacks/dev/consume-agent-jobs.ts";

// The model the agent asks (AZUCHI_OPENAI_MODEL when deploying overrides it), written once.
export { DEFAULT_OPENAI_MODEL } from "@azuchi/agent/defaults";
import { DEFAULT_OPENAI_MODEL } from "@azuchi/agent/defaults";

interface AgentInput {
  storage: Storage;
  pipeline: Pipeline;
  chat: Chat;
  openAiApiKey: sst.Secret;
  authSecret: sst.Secret;
}

export function createAgent({ storage, pipeline, chat, openAiApiKey, authSecret }: AgentInput) {
  const { sessions, connections, messages, messageIds } = storage.tables;
  const { queue, dlq, events, alarms } = pipeline;
  const agent = (spec: Parameters<typeof functionArgs>[1]) => functionArgs("azuchi-ai-agent", spec);

  // agentDeps() reads all of these when the consumer first runs (test/infra/links.test.ts
  // checks them against the code): a turn touches the tables, every tab of the session, the
  // bus, Redis and OpenAI, and shortens or dead-letters its own job.
  const agentDepsLinks = [
    sessions, connections, messages, messageIds, queue, dlq, chat.socket, events, storage.memory, openAiApiKey,
  ];
  const redis = { ...(storage.vpc && { vpc: storage.vpc }), environment: redisEnvironment($dev, storage.redisCluster) };
  const consumerEnvironment = {
    ...redis.environment,
    AZUCHI_TURN_TIMEOUT_MS: String(jobTiming.turnTimeoutSeconds * 1000),
    AZUCHI_MAX_ATTEMPTS: String(jobTiming.maxAttempts),
    // The redrive limit (pipeline.ts): the agent gives a job up itself on its last receive.
    AZUCHI_MAX_RECEIVES: String(jobTiming.maxReceiveCount),
    AZUCHI_OPENAI_MODEL: process.env.AZUCHI_OPENAI_MODEL || DEFAULT_OPENAI_MODEL,
    // An OpenAI-compatible endpoint instead of api.openai.com, when deploying names one.
    ...(process.env.OPENAI_BASE_URL && { OPENAI_BASE_URL: process.env.OPENAI_BASE_URL }),
  };

  let consumer: ConsumerOutputs | undefined;
  if ($dev) {
    new sst.x.DevCommand("AgentJobsConsumer", {
      link: agentDepsLinks,
      environment: {
        ...consumerEnvironment,
        POWERTOOLS_SERVICE_NAME: "azuchi-ai-agent",
        AWS_REGION: aws.getRegionOutput().region,
      },
      dev: { command: DEV_CONSUMER_COMMAND, title: "AgentJobs", autostart: true },
    });
  } else {
    const subscriber = queue.subscribe(
      agent({
        handler: deployedHandler("agent", agentTopology.jobsConsumer),
        link: agentDepsLinks,
        ...redis,
        environment: consumerEnvironment,
        timeout: `${jobTiming.consumerTimeoutSeconds} seconds`,
        memory: "1024 MB",
      }),
      {
        // A failed job and the later ones of its session go back to the queue; the rest are done.
        batch: { size: jobTiming.batchSize, partialResponses: true },
        transform: {
          // One batch per message group at a time, at most this many at once (@azuchi/agent/job-timing).
          eventSourceMapping: (args) => {
            args.scalingConfig = { maximumConcurrency: consumerMaxConcurrency(isProductionStage($app.stage)) };
          },
        },
      },
    );
    const fn = subscriber.nodes.function;
    consumer = {
      name: fn.apply((f) => f.name),
      logGroup: fn.apply((f) => f.nodes.logGroup.apply((group) => group?.name ?? $interpolate`/aws/lambda/${f.name}`)),
    };
  }

  const api = new sst.aws.ApiGatewayV2("AgentApi", {
    // Bearer tokens, no cookies: any origin may call it, the authorizer decides who.
    cors: { allowOrigins: ["*"], allowHeaders: ["authorization", "content-type"], allowMethods: ["POST"] },
    accessLog: { retention: logRetention($app.stage) },
  });
  const { httpAuthorizer } = agentTopology;
  const authorizer = api.addAuthorizer({
    name: "BearerToken",
    lambda: {
      function: agent({ handler: deployedHandler("agent", httpAuthorizer), link: [authSecret], environment: authEnvironment() }),
      // API Gateway's JWT authorizer cannot check HS256 (docs/architecture.md §7).
      response: "simple",
      identitySources: [httpAuthorizer.identitySource],
    },
  });
  for (const [key, route] of routesOf(agentTopology.httpRoutes)) {
    api.route(
      key,
      agent({
        handler: deployedHandler("agent", route),
        // generateReply is the same use case as putMessage (submitUserMessage), including
        // showing the message to every tab and the user's message rate, kept in Redis: so it
        // runs in the VPC. No OpenAI.
        link: [sessions, connections, messages, messageIds, queue, events, chat.socket, storage.memory],
        ...(route.redis && redis),
      }),
      { auth: { lambda: authorizer.id } },
    );
  }

  if (consumer) createConsumerAlarms(consumer, alarms.arn);

  return { api };
}

interface ConsumerOutputs {
  name: $util.Output<string>;
  logGroup: $util.Output<string>;
}

/** Turns that crashed (timeout, out of memory) and turns that failed. */
function createConsumerAlarms(consumer: ConsumerOutputs, topicArn: $util.Output<string>) {
  const common = {
    period: 300,
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "notBreaching",
    alarmActions: [topicArn],
  };
  // With partial batch responses a failed turn is reported, not thrown: Errors counts crashes.
  new aws.cloudwatch.MetricAlarm("AgentJobsConsumerErrors", {
    ...common,
    alarmDescription: "The AgentJobs consumer crashed or timed out; its session is blocked until the job's visibility timeout.",
    namespace: "AWS/Lambda",
    metricName: "Errors",
    dimensions: { FunctionName: consumer.name },
    statistic: "Sum",
  });
  // Failed turns are logged once at ERROR by Powertools' JSON logger ("turn failed").
  const metric = { namespace: `azuchi/${$app.stage}`, name: "AgentTurnErrors" };
  new aws.cloudwatch.LogMetricFilter("AgentTurnErrors", {
    logGroupName: consumer.logGroup,
    pattern: '{ $.level = "ERROR" }',
    metricTransformation: { ...metric, value: "1", defaultValue: "0" },
  });
  new aws.cloudwatch.MetricAlarm("AgentTurnErrorsAlarm", {
    ...common,
    alarmDescription: "Agent turns failed (each is retried; see the consumer's ERROR logs and AgentRunFailed events).",
    namespace: metric.namespace,
    metricName: metric.name,
    statistic: "Sum",
    // One failed attempt is retried and usually succeeds; alert on a run of them.
    threshold: 5,
  });
}

export type Agent = ReturnType<typeof createAgent>;

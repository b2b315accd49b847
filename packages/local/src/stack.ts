import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, SetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import type * as agentModule from "@azuchi/agent";
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_TURN_TIMEOUT_MS } from "@azuchi/agent/defaults";
import { consumerMaxConcurrency, jobTiming, visibilityTimeoutFor } from "@azuchi/agent/job-timing";
import type * as chatModule from "@azuchi/chat";
import { agentTopology, type AgentHandlerName, type ChatHandlerName } from "@azuchi/core/topology";
import { CallCounter, STACK_ACCESS_KEY_ID } from "./call-counter.ts";
import { handleBusRequest, handleDevRequest, type DevAuth, type DevResources } from "./dev-endpoints.ts";
import { createTables, startDynamo } from "./dynamodb.ts";
import { collectEmfMetrics } from "./emf-metrics.ts";
import { handlerEnvironment } from "./environment.ts";
import { startEventBridge, type EventBridgeEvent } from "./eventbridge/index.ts";
import { createWebSocketGateway } from "./gateway/index.ts";
import { sendJson } from "./http-body.ts";
import { createHttpApi } from "./http-api/http-api.ts";
import { acceptingModel, startOfflineModel, type OfflineModel, type OfflineModelSettings } from "./offline-model/index.ts";
import { startRedisServer, type RedisServer } from "./redis-server.ts";
import { invokeLambda, startLambdaHost, startLambdaWorker, startSqsPoller, type LambdaWorker } from "./runtime/index.ts";
import { inProcessTransport, startSqsEmulator } from "./sqs/index.ts";
import { serveStatic } from "./static-files.ts";
import { gatewayRoutes, httpApiRoutes, sessionTitlesRule, type TopologyHandlers } from "./topology.ts";
import { startTtlSweeper } from "./ttl-sweeper.ts";

export interface LocalStackOptions {
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the stack has dev endpoints and must not face a network by accident. */
  host?: string;
  /** Where DynamoDB, Redis and the SQS queues keep their data; default `.azuchi`. */
  dataDir?: string;
  /** Keep nothing on disk. */
  ephemeral?: boolean;
  /** Use this Redis instead of starting redis-server. */
  redisUrl?: string;
  /** Use the real OpenAI API with this key instead of the offline model. */
  openaiApiKey?: string;
  model?: Partial<OfflineModelSettings>;
  /** AgentJobs' visibility timeout; default as deployed: the consumer's timeout + the lock TTL + 30 s (240 s). */
  visibilityTimeoutSeconds?: number;
  /** The redrive policy's safety net for jobs the consumer could not even report (crashes); default 5, as deployed. */
  maxReceiveCount?: number;
  /** Attempts of a job before the agent gives it up to the dead-letter queue. */
  maxAttempts?: number;
  /** The consumer's timeout, as the Lambda's (default 180 s, as deployed). */
  consumerTimeoutMs?: number;
  /** The longest one turn may run. */
  turnTimeoutMs?: number;
  /**
   * Where the AgentJobs consumer runs: in a worker thread that crashConsumer() can kill
   * mid-turn, as a Lambda instance can die (the default; the fault drills rely on it), or in
   * this process;
   * or nowhere in the stack: jobs wait on the queue for a consumer of its own, as under `sst
   * dev` (stacks/dev/consume-agent-jobs.ts, run against the stack in its test).
   */
  consumerRuntime?: "in-process" | "worker" | "none";
  /**
   * Where azuchi-chat's handlers (routes, authorizer, session titles) and the HTTP API's run:
   * on this thread, or on a thread of their own, off the gateway's and the emulators' loop, as
   * separate Lambdas are (the default: both cores work).
   */
  handlerRuntime?: "in-process" | "worker";
  /** Where dynalite runs: on this thread, or on its own (the default). */
  dynamoRuntime?: "in-process" | "thread";
  /** How many of the latest events GET /dev/events keeps; default 200 (a drill that checks every event keeps them all). */
  keptEvents?: number;
  /** More variables for the handlers (tuning such as AZUCHI_RETRY_BASE_SECONDS). */
  environment?: Record<string, string>;
  log?: (line: string) => void;
}

export interface LocalStack {
  url: string;
  webSocketUrl: string;
  /** The variables handlers run with (SST_RESOURCE_*, AWS_ENDPOINT_URL_*). */
  environment: Record<string, string>;
  model: OfflineModel | undefined;
  queues: { jobs: string; dlq: string };
  /** The SQS emulator's endpoint, for `aws sqs … --endpoint-url` and azuchi-ops (also at GET /dev/resources). */
  sqsEndpoint: string;
  /** PostToConnection (and other @connections) calls the handlers have made. */
  managementCalls(): number;
  /** The handlers' AWS calls by service and operation (also at GET /dev/calls). */
  calls: CallCounter;
  /** The last events published on the bus, newest last (also at GET /dev/events). */
  recentEvents(): EventBridgeEvent<string, unknown>[];
  /** Resolves once every event published so far has reached its rules' targets (session titles). */
  eventsDelivered(): Promise<void>;
  /**
   * Kills the consumer's instance (consumerRuntime "worker" only) with the turns it runs: their
   * records stay in flight until their visibility timeout, as with Lambda. Returns how many
   * invocations died.
   */
  crashConsumer(): Promise<number>;
  /** The stack's own redis-server, to stop and start it (undefined with redisUrl). */
  redis: RedisServer | undefined;
  /**
   * CPU time used so far and memory held now by the whole stack: this process (every thread:
   * gateway, emulators, handler and consumer workers, dynalite) and its redis-server. The
   * difference of two readings is what the work between them cost.
   */
  resourceUsage(): Promise<StackResourceUsage>;
  stop(): Promise<void>;
}

export interface StackResourceUsage {
  /** User + system CPU time since the stack's process and its redis-server started. */
  cpuMs: number;
  /** Resident memory now. */
  rssBytes: number;
  /** The most resident memory each process has had, summed. */
  peakRssBytes: number;
}

const BUS_NAME = "azuchi-local-Events";
const RECENT_EVENTS = 200;
const webRoot = resolve(fileURLToPath(new URL("../../web/dist", import.meta.url)));

/**
 * The whole of azuchi on one machine: the same handlers as in AWS, reached through local
 * DynamoDB, SQS, EventBridge and API Gateway stand-ins over HTTP, with Redis and a model.
 * Handlers read process.env, so one stack runs per process.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? ((line: string) => console.log(line));
  const dataDir = options.ephemeral ? undefined : resolve(options.dataDir || process.env.AZUCHI_DATA_DIR || ".azuchi");
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // The deployed job timing, so a job is hidden, retried and dead-lettered locally as in AWS
  // (test/local/sqs-stack-queues.test.ts compares the queue).
  const maxReceiveCount = options.maxReceiveCount ?? jobTiming.maxReceiveCount;
  const consumerTimeoutMs = options.consumerTimeoutMs ?? jobTiming.consumerTimeoutSeconds * 1000;
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? visibilityTimeoutFor(consumerTimeoutMs / 1000);
  const stops: (() => Promise<void>)[] = [];
  let stopping = false;
  const stop = async () => {
    stopping = true;
    for (const close of stops.reverse()) await close().catch((error: unknown) => log(`stop: ${String(error)}`));
  };

  try {
    // The handlers' EMF lines, for GET /dev/metrics instead of the console; stopped last.
    const emf = collectEmfMetrics();
    stops.push(async () => emf.stop());
    const calls = new CallCounter();
    const [dynamo, redis, model, sqs] = await Promise.all([
      startDynamo({
        dir: dataDir && join(dataDir, "dynamodb"),
        thread: (options.dynamoRuntime ?? "thread") === "thread",
        calls,
      }),
      options.redisUrl ? undefined : startRedisServer({ dir: dataDir && join(dataDir, "redis") }),
      // The offline model answers to the model the handlers are configured with, whatever its name.
      options.openaiApiKey ? undefined : startOfflineModel(acceptingModel(options.model, options.environment?.AZUCHI_OPENAI_MODEL ?? process.env.AZUCHI_OPENAI_MODEL)),
      startSqsEmulator({ dataDir: dataDir && join(dataDir, "sqs"), onRequest: (req) => calls.countAwsRequest("sqs", req) }),
    ]);
    stops.push(() => dynamo.close(), () => sqs.close());
    if (redis) stops.push(() => redis.stop());
    if (model) stops.push(() => model.close());

    const recent: EventBridgeEvent<string, unknown>[] = [];
    const keptEvents = options.keptEvents ?? RECENT_EVENTS;
    // The bus starts before the handlers (their environment names it); its rule finds them here.
    const started: { handlers?: TopologyHandlers } = {};
    let managementCalls = 0;
    const bus = await startEventBridge({
      onRequest: (req) => calls.countAwsRequest("eventbridge", req),
      buses: [BUS_NAME],
      rules: [
        {
          name: "recent-events",
          eventBusName: BUS_NAME,
          pattern: { source: [{ prefix: "azuchi." }] },
          target: async (event) => {
            recent.push(event);
            if (recent.length > keptEvents) recent.shift();
          },
        },
        sessionTitlesRule(BUS_NAME, () => started.handlers),
      ],
    });
    const closeBus = () => bus.close();
    stops.push(closeBus);

    const tables = {
      sessions: "azuchi-local-Sessions",
      connections: "azuchi-local-Connections",
      messages: "azuchi-local-Messages",
      messageIds: "azuchi-local-MessageIds",
    };
    // The stack's own clients sign with their own key, so the call counts leave them out.
    const awsClientConfig = { region: "us-east-1", credentials: { accessKeyId: STACK_ACCESS_KEY_ID, secretAccessKey: "local" } };
    await createTables(new DynamoDBClient({ ...awsClientConfig, endpoint: dynamo.endpoint }), tables);
    // dynalite has no TTL: expired connections and messageId guards are deleted here instead.
    const ttlSweeper = startTtlSweeper({ client: new DynamoDBClient({ ...awsClientConfig, endpoint: dynamo.endpoint }), tables: [{ name: tables.connections, key: ["connectionId"] }, { name: tables.messageIds, key: ["messageId"] }], onError: (error) => log(`[ttl-sweeper] ${String(error)}`) });
    stops.push(() => ttlSweeper.stop());
    const sqsClient = new SQSClient({ ...awsClientConfig, endpoint: sqs.endpoint });
    const queues = await createQueues(sqsClient, visibilityTimeoutSeconds, maxReceiveCount);

    // Listen first: the management endpoint the handlers are given contains the port.
    let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => sendJson(res, 503, { status: "starting" });
    const server = createServer((req, res) => handle(req, res));
    await new Promise<void>((resolveListen, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 3000, options.host ?? "127.0.0.1", () => resolveListen());
    });
    stops.push(() => new Promise<void>((done) => (server.closeAllConnections(), server.close(() => done()))));
    const { port } = server.address() as AddressInfo;
    const host = options.host && options.host !== "0.0.0.0" && options.host !== "::" ? options.host : "127.0.0.1";
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    const webSocketUrl = `${url.replace(/^http/, "ws")}/ws`;

    const redisEndpoint = options.redisUrl ? parseRedisUrl(options.redisUrl) : { host: "127.0.0.1", port: redis!.port, username: "", password: "" };
    const auth: DevAuth = { secret: authSecret(dataDir), issuer: "azuchi-local", audience: "azuchi" };
    const gatewayPath = "/_gateway/local";
    const environment = handlerEnvironment({
      dynamodb: dynamo.endpoint,
      sqs: sqs.endpoint,
      eventbridge: bus.endpoint,
      managementEndpoint: `${url}${gatewayPath}`,
      webSocketUrl,
      jobsQueueUrl: queues.jobs,
      dlqUrl: queues.dlq,
      redis: redisEndpoint,
      openai: model ? { apiKey: "offline", baseURL: model.baseURL } : { apiKey: options.openaiApiKey! },
      authSecret: auth.secret,
      authIssuer: auth.issuer,
      authAudience: auth.audience,
      tables,
      busName: BUS_NAME,
      maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      maxReceives: maxReceiveCount,
      turnTimeoutMs: options.turnTimeoutMs ?? DEFAULT_TURN_TIMEOUT_MS,
    });
    if (options.redisUrl?.startsWith("rediss:")) environment.AZUCHI_REDIS_TLS = "true";
    Object.assign(environment, options.environment);
    Object.assign(process.env, environment);
    process.env.POWERTOOLS_LOG_LEVEL ??= "WARN";

    const handlers = await routeHandlers(options.handlerRuntime ?? "worker");
    // Stopped after the bus, whose deliveries (session titles) it runs, and before the servers behind it.
    if (handlers.close) stops.splice(stops.indexOf(closeBus), 0, handlers.close);
    const gateway = createWebSocketGateway({
      domainName: `${host}:${port}`,
      // The WebSocket routes and $connect authorizer of @azuchi/core/topology, as deployed.
      ...gatewayRoutes(handlers),
      onError: (error) => log(`[gateway] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
    });
    started.handlers = handlers;
    const closeGateway = () => gateway.close();
    stops.push(closeGateway);
    if (gateway.managementPath !== gatewayPath) throw new Error(`gateway management path is ${gateway.managementPath}`);

    const consumerName = "azuchi-ai-agent-consumer";
    let consumerWorker: LambdaWorker | undefined;
    if ((options.consumerRuntime ?? "worker") === "worker") {
      const worker = startLambdaWorker({ module: "@azuchi/agent", exportName: agentTopology.jobsConsumer.export, functionName: consumerName, timeoutMs: consumerTimeoutMs });
      consumerWorker = worker;
    }
    const poller = options.consumerRuntime === "none" ? undefined : startSqsPoller({
      // Lambda's own receives and deletes: in this process, off the HTTP path (the handlers'
      // SQS calls still go through the SDK and the emulator's endpoint).
      client: inProcessTransport(sqs),
      queueUrl: queues.jobs,
      queueArn: queues.jobsArn,
      batchSize: jobTiming.batchSize,
      // As production's event source mapping (not a dev stage's 5): what the bench measures capacity against.
      maxConcurrency: consumerMaxConcurrency(true),
      // Lambda's event source mapping long-polls for 20 s; stop() ends the in-process poll at once.
      waitTimeSeconds: 20,
      invoke: (event) =>
        consumerWorker
          ? consumerWorker.invoke(event)
          : import("@azuchi/agent").then((agent) => invokeLambda(agent[agentTopology.jobsConsumer.export], event, { functionName: consumerName, timeoutMs: consumerTimeoutMs })),
      onError: (error) => log(`[agent consumer] ${error instanceof Error ? error.message : String(error)}`),
    });
    const httpApi = createHttpApi({
      ...httpApiRoutes(handlers),
      onError: (error) => log(`[http api] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
    });

    // Stopped in reverse: first the gateway (no new messages, sockets closed, their $disconnect
    // still reaching DynamoDB), then the poller finishes the turns in flight, then the servers
    // behind them.
    stops.splice(stops.indexOf(closeGateway), 0, async () => consumerWorker?.close(), async () => poller?.stop());

    server.on("upgrade", (req, socket, head) => {
      if (!stopping && new URL(req.url ?? "/", url).pathname === "/ws") gateway.handleUpgrade(req, socket, head);
      else socket.destroy();
    });
    const resources: DevResources = {
      region: awsClientConfig.region,
      sqs: { endpoint: sqs.endpoint, jobs: { url: queues.jobs, arn: queues.jobsArn }, dlq: { url: queues.dlq, arn: queues.dlqArn } },
      tables,
      busName: BUS_NAME,
    };
    handle = (req, res) => {
      const requestUrl = new URL(req.url ?? "/", url);
      const path = requestUrl.pathname;
      const route = async () => {
        if (path === "/healthz") return sendJson(res, stopping ? 503 : 200, { status: stopping ? "stopping" : "ok" });
        if (path.startsWith(`${gatewayPath}/`)) {
          managementCalls++;
          calls.countManagementRequest(req);
          return gateway.handleManagementRequest(req, res);
        }
        if (path === "/dev/events") return sendJson(res, 200, { events: recent });
        if (path === "/dev/bus") return handleBusRequest(req, res, bus);
        if (path === "/dev/metrics" && req.method === "GET") return sendJson(res, 200, emf.snapshot());
        if (path.startsWith("/dev/")) return handleDevRequest(req, res, requestUrl, auth, model, resources, calls);
        if (path.startsWith("/api/")) return stopping ? sendJson(res, 503, { message: "Service Unavailable" }) : httpApi(req, res);
        if (req.method !== "GET" && req.method !== "HEAD") return sendJson(res, 405, { error: "method not allowed" });
        return serveStatic(webRoot, path, res);
      };
      route().catch((error: unknown) => {
        log(`[http] ${req.method} ${path}: ${error instanceof Error ? error.message : String(error)}`);
        if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
        else res.destroy();
      });
    };

    const crashConsumer = async () => {
      if (!consumerWorker) throw new Error("crashConsumer needs consumerRuntime \"worker\"");
      return consumerWorker.crash();
    };
    const resourceUsage = () => stackResourceUsage(redis?.pid());
    return { url, webSocketUrl, environment, model, queues: { jobs: queues.jobs, dlq: queues.dlq }, sqsEndpoint: sqs.endpoint, recentEvents: () => [...recent], eventsDelivered: () => bus.idle(), managementCalls: () => managementCalls, calls, crashConsumer, redis, resourceUsage, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

type ChatModule = typeof chatModule;
type AgentModule = typeof agentModule;

interface Handlers extends TopologyHandlers {
  close?: () => Promise<void>;
}

/**
 * The WebSocket routes', session titles' and HTTP API's handlers: imported here, or run on
 * one thread of their own that has imported them (a cold start paid when the stack starts).
 */
async function routeHandlers(runtime: "in-process" | "worker"): Promise<Handlers> {
  if (runtime === "in-process") {
    const [chat, agent] = await Promise.all([import("@azuchi/chat"), import("@azuchi/agent")]);
    return { chat: (name) => chat[name], agent: (name) => agent[name] };
  }
  const host = startLambdaHost({ name: "azuchi-handlers", modules: ["@azuchi/chat", "@azuchi/agent"] });
  return {
    // The thread's handlers take and give what the imported ones do, through structured clone.
    chat: <K extends ChatHandlerName>(name: K) => host.handler("@azuchi/chat", name) as unknown as ChatModule[K],
    agent: <K extends AgentHandlerName>(name: K) => host.handler("@azuchi/agent", name) as unknown as AgentModule[K],
    close: () => host.close(),
  };
}

/** Sums this process (all its threads) and its children by their pids, from /proc where there is one. */
async function stackResourceUsage(...children: (number | undefined)[]): Promise<StackResourceUsage> {
  const own = process.resourceUsage();
  let cpuMs = (own.userCPUTime + own.systemCPUTime) / 1000;
  let rssBytes = process.memoryUsage.rss();
  let peakRssBytes = own.maxRSS * 1024;
  for (const pid of children) {
    if (pid === undefined) continue;
    const usage = await processUsage(pid);
    cpuMs += usage.cpuMs;
    rssBytes += usage.rssBytes;
    peakRssBytes += usage.peakRssBytes;
  }
  return { cpuMs, rssBytes, peakRssBytes };
}

/** USER_HZ, the unit of /proc's CPU times: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Another process's CPU time (/proc/<pid>/stat: utime, stime in clock ticks) and memory (/proc/<pid>/status). */
async function processUsage(pid: number): Promise<StackResourceUsage> {
  try {
    const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, "utf8"), readFile(`/proc/${pid}/status`, "utf8")]);
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const kB = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return { cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND, rssBytes: kB("VmRSS"), peakRssBytes: kB("VmHWM") };
  } catch {
    return { cpuMs: 0, rssBytes: 0, peakRssBytes: 0 };
  }
}

/**
 * Creates the queues, or finds them kept in the data folder with their messages; either way
 * sets this start's attributes (CreateQueue alone would refuse a kept queue whose attributes
 * differ, e.g. after maxReceiveCount changed).
 */
async function createQueues(sqs: SQSClient, visibilityTimeoutSeconds: number, maxReceiveCount: number) {
  const createFifo = async (name: string, attributes: Record<string, string>) => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { FifoQueue: "true" } }));
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
    return { QueueUrl };
  };
  // High-throughput FIFO, as stacks/pipeline.ts deploys both queues: deduplication per group.
  const highThroughput = { DeduplicationScope: "messageGroup", FifoThroughputLimit: "perMessageGroupId" };
  const dlq = await createFifo("azuchi-local-AgentJobsDlq.fifo", { MessageRetentionPeriod: "1209600", ...highThroughput });
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }))).Attributes?.QueueArn;
  const jobs = await createFifo("azuchi-local-AgentJobs.fifo", {
    VisibilityTimeout: String(visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
    ...highThroughput,
  });
  const jobsArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: jobs.QueueUrl, AttributeNames: ["QueueArn"] }))).Attributes?.QueueArn;
  if (!jobs.QueueUrl || !dlq.QueueUrl || !jobsArn || !dlqArn) throw new Error("the SQS emulator did not create the queues");
  return { jobs: jobs.QueueUrl, dlq: dlq.QueueUrl, jobsArn, dlqArn };
}

/** The HS256 secret of dev tokens, kept in the data folder so tokens survive a restart. */
function authSecret(dataDir: string | undefined): string {
  if (process.env.AZUCHI_AUTH_SECRET) return process.env.AZUCHI_AUTH_SECRET;
  if (!dataDir) return randomBytes(32).toString("hex");
  const file = join(dataDir, "auth-secret");
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    const secret = randomBytes(32).toString("hex");
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    return secret;
  }
}

function parseRedisUrl(text: string) {
  const url = new URL(text);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}

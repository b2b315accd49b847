/**
 * Runs one drill: starts a local stack in its own process on a temp data dir, drives sessions
 * of turns through real WebSocket tabs while the drill injects its fault, waits for the system
 * to go quiet, reads what came out (the Messages table and the queues with the real AWS SDK
 * clients, and what each tab holds) and hands it to the checker.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DeleteItemCommand, DynamoDBClient, QueryCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { Message } from "@azuchi/core";
import { startRedisCluster, type RedisCluster } from "../redis-cluster.ts";
import type { LocalStackOptions } from "../stack.ts";
import type { PutEventsFault, PutEventsFaults } from "../eventbridge/index.ts";
import { check, checkEvents, formatFigures, type BusEvent, type CheckOptions, type Figures, type QueueState, type SessionHistory } from "./checker.ts";
import type { StackOp, StackReady, StackReply } from "./stack-process.ts";
import { sleep, Tab, type SentMessage } from "./tab.ts";

/** The stack options a drill may set (JSON-serialisable: they cross into the stack's process). */
export type DrillStackOptions = Omit<LocalStackOptions, "log" | "port" | "dataDir" | "ephemeral" | "redisUrl" | "openaiApiKey">;

export interface Drill {
  name: string;
  /** One line: the fault, for the summary table. */
  title: string;
  /** Long drills (lock expiry, long outages) run only in `npm run drills`, not in `npm test`. */
  long: boolean;
  sessions: number;
  turns: number;
  stack?: DrillStackOptions;
  /** Run on a local three-master Redis Cluster (a replica each) instead of one redis-server. */
  redisCluster?: boolean;
  check?: CheckOptions;
  /** What this drill promises beyond the common checks (e.g. every message told, then answered). */
  expect?(figures: Figures): string[];
  /** Bound on the wait for quiescence after the workload and the fault; default 60 s. */
  quiesceMs?: number;
  /** Runs alongside the workload; returns what it injected, in words. */
  inject(drill: DrillRun): Promise<string>;
}

export interface DrillResult {
  name: string;
  title: string;
  injected: string;
  figures: Figures;
  violations: string[];
  durationMs: number;
  passed: boolean;
}

/**
 * Short timings, so a fault plays out in seconds: retries from 1 s, turns of at most 8 s, a 25 s
 * visibility timeout (above the consumer's 20 s, as in AWS), an OpenAI timeout of 3 s.
 */
const BASE_STACK: DrillStackOptions = {
  consumerRuntime: "worker",
  consumerTimeoutMs: 20_000,
  turnTimeoutMs: 8_000,
  visibilityTimeoutSeconds: 25,
  maxReceiveCount: 10,
  maxAttempts: 3,
  model: { firstTokenMs: 20, tokenMs: 2 },
  environment: { AZUCHI_RETRY_BASE_SECONDS: "1", AZUCHI_OPENAI_MAX_RETRIES: "0", AZUCHI_OPENAI_TIMEOUT_MS: "3000", AZUCHI_HEARTBEAT_MS: "200" },
};

const stackProcessFile = fileURLToPath(new URL("./stack-process.ts", import.meta.url));

/** A running stack in its own process. */
class StackProcess {
  private nextId = 0;
  private readonly calls = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  readonly logs: string[] = [];
  private readonly child: ChildProcess;
  readonly ready: StackReady;
  private constructor(child: ChildProcess, ready: StackReady) {
    this.child = child;
    this.ready = ready;
    child.on("message", (reply: StackReply) => {
      const call = this.calls.get(reply.id);
      if (!call) return;
      this.calls.delete(reply.id);
      if (reply.ok) call.resolve(reply.value);
      else call.reject(new Error(reply.error));
    });
    child.on("exit", () => {
      for (const call of this.calls.values()) call.reject(new Error("the stack's process exited"));
      this.calls.clear();
    });
  }

  static async start(options: LocalStackOptions): Promise<StackProcess> {
    const child = fork(stackProcessFile, [JSON.stringify(options)], { stdio: ["ignore", "pipe", "pipe", "ipc"] });
    const logs: string[] = [];
    const collect = (chunk: Buffer) => logs.push(...chunk.toString().split("\n").filter(Boolean));
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const ready = await new Promise<StackReady>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the stack did not start within 60 s: ${logs.slice(-20).join("\n")}`)), 60_000);
      child.once("message", (message: StackReady) => (clearTimeout(timer), resolve(message)));
      child.once("exit", (code) => (clearTimeout(timer), reject(new Error(`the stack exited with ${code} while starting: ${logs.slice(-20).join("\n")}`))));
    });
    const stack = new StackProcess(child, ready);
    stack.logs.push(...logs);
    child.stdout?.off("data", collect);
    child.stderr?.off("data", collect);
    child.stdout?.on("data", (chunk: Buffer) => stack.logs.push(...chunk.toString().split("\n").filter(Boolean)));
    child.stderr?.on("data", (chunk: Buffer) => stack.logs.push(...chunk.toString().split("\n").filter(Boolean)));
    return stack;
  }

  request(op: StackOp): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.child.send({ ...op, id });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.send({ id: this.nextId++, op: "stop" });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(timer);
  }
}

/** What a drill sees while it runs: the stack, the tabs, and the faults it can inject. */
export class DrillRun {
  tabs: Tab[] = [];
  /** Per tab, the messages acked so far, in the order sent. */
  sent: SentMessage[][] = [];
  /** Per user: the user of tab i. */
  users: string[] = [];
  private stackProcess!: StackProcess;
  private readonly dataDir = mkdtempSync(join(tmpdir(), "azuchi-drill-"));
  private options!: LocalStackOptions;
  private cluster: RedisCluster | undefined;
  readonly drill: Drill;

  constructor(drill: Drill) {
    this.drill = drill;
  }

  get stack(): StackReady {
    return this.stackProcess.ready;
  }

  get logs(): string[] {
    return this.stackProcess.logs;
  }

  async start(): Promise<void> {
    const base = { ...BASE_STACK, ...this.drill.stack };
    if (this.drill.redisCluster) this.cluster = await startRedisCluster();
    this.options = {
      ...base,
      ...(this.cluster && { redisUrl: this.cluster.url }),
      environment: { ...BASE_STACK.environment, ...(this.cluster && { AZUCHI_REDIS_CLUSTER: "true" }), ...this.drill.stack?.environment },
      model: { ...BASE_STACK.model, ...this.drill.stack?.model },
      // A drill that checks the bus reads every event of its run from GET /dev/events.
      ...(this.drill.check?.events && { keptEvents: 100_000 }),
      // The stack binds a free port itself: a port picked here and bound by the stack's process a
      // second later could be taken by then (another test's server), and the drill would break.
      port: 0,
      dataDir: this.dataDir,
    };
    this.stackProcess = await StackProcess.start(this.options);
    // A restart comes back on the port it got, as tabs reconnecting to the same URL need.
    this.options.port = Number(new URL(this.stack.url).port);
  }

  async token(user: string): Promise<string> {
    const response = await fetch(`${this.stack.url}/dev/token?user=${encodeURIComponent(user)}`);
    if (!response.ok) throw new Error(`GET /dev/token answered ${response.status}`);
    return ((await response.json()) as { token: string }).token;
  }

  /** POST /dev/model, as a person testing by hand would. */
  async model(patch: Record<string, unknown>): Promise<void> {
    const response = await fetch(`${this.stack.url}/dev/model`, { method: "POST", body: JSON.stringify(patch) });
    if (!response.ok) throw new Error(`POST /dev/model ${JSON.stringify(patch)} answered ${response.status}: ${await response.text()}`);
  }

  /** POST /dev/bus: holds or fails matching PutEvents calls (or, with null, lifts the fault). */
  async busFault(fault: PutEventsFault | null): Promise<PutEventsFaults> {
    const response = await fetch(`${this.stack.url}/dev/bus`, { method: "POST", body: JSON.stringify({ fault }) });
    if (!response.ok) throw new Error(`POST /dev/bus answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as PutEventsFaults;
  }

  async busFaults(): Promise<PutEventsFaults> {
    return (await (await fetch(`${this.stack.url}/dev/bus`)).json()) as PutEventsFaults;
  }

  /** Every event the bus delivered in this run (the stack keeps them all when the drill checks events). */
  async events(): Promise<BusEvent[]> {
    const response = await fetch(`${this.stack.url}/dev/events`);
    if (!response.ok) throw new Error(`GET /dev/events answered ${response.status}`);
    return ((await response.json()) as { events: BusEvent[] }).events;
  }

  async modelSettings(): Promise<{ mode: string; faultRequests: number | null }> {
    const response = await fetch(`${this.stack.url}/dev/model`);
    return (await response.json()) as { mode: string; faultRequests: number | null };
  }

  /** Waits until the model has served all of a counted fault's requests (it is "ok" again). */
  async untilModelHealed(withinMs = 60_000): Promise<void> {
    await this.until(async () => (await this.modelSettings()).mode === "ok", withinMs, "the model's faulted requests were not all made");
  }

  crashConsumer(): Promise<number> {
    return this.stackProcess.request({ op: "crashConsumer" }) as Promise<number>;
  }

  redisHalt(): Promise<void> {
    return this.stackProcess.request({ op: "redisHalt" }) as Promise<void>;
  }

  redisStart(empty: boolean): Promise<void> {
    return this.stackProcess.request({ op: "redisStart", empty }) as Promise<void>;
  }

  /**
   * Kills (SIGKILL) the Redis Cluster master that serves the session of the first tab whose turn
   * is streaming, and waits until its replica has taken over; answers the killed node's port.
   */
  async killStreamingSessionsMaster(): Promise<number> {
    if (!this.cluster) throw new Error("this drill runs no Redis Cluster (set redisCluster)");
    const tab = this.tabs.find((t) => t.frames.some((f) => f.type === "delta")) ?? this.tabs[0]!;
    // Every key of a session carries its `{sessionId}` tag: the tag alone names the slot.
    const master = await this.cluster.masterOf(await this.cluster.slotOf(`{${tab.sessionId}}`));
    await this.cluster.killAndFailOver(master);
    return master;
  }

  /**
   * Stops the whole stack and starts it again on the same data dir and port; runs `between`
   * while it is down. The tabs find their sockets closed and reconnect when they next send.
   */
  async restartStack(between: () => Promise<void> = async () => undefined): Promise<void> {
    await this.stackProcess.stop();
    await between();
    const logs = this.stackProcess.logs;
    this.stackProcess = await StackProcess.start(this.options);
    this.stackProcess.logs.unshift(...logs, "---- restarted ----");
  }

  /** Resolves once some tab has received a delta: a turn is streaming. */
  async untilStreaming(withinMs = 30_000): Promise<void> {
    await this.until(() => this.tabs.some((tab) => tab.frames.some((f) => f.type === "delta")), withinMs, "no turn started streaming");
  }

  /** Resolves once the tabs hold `count` agent replies between them. */
  async untilReplies(count: number, withinMs = 60_000): Promise<void> {
    await this.until(() => this.replies() >= count, withinMs, `fewer than ${count} replies arrived`);
  }

  replies(): number {
    return this.tabs.reduce((sum, tab) => sum + [...tab.messages.values()].filter((m) => m.role === "AGENT" && m.messageType === "CONVERSATION").length, 0);
  }

  async until(condition: () => boolean | Promise<boolean>, withinMs: number, failure: string): Promise<void> {
    const deadline = Date.now() + withinMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`${failure} within ${withinMs} ms`);
      await sleep(50);
    }
  }

  sqs(): SQSClient {
    return new SQSClient({ region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, endpoint: this.stack.environment.AWS_ENDPOINT_URL_SQS! });
  }

  async queueState(): Promise<QueueState> {
    const sqs = this.sqs();
    const count = async (url: string) => {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"] }),
      );
      return {
        visible: Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
        inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
      };
    };
    try {
      const [jobs, dlq] = await Promise.all([count(this.stack.queues.jobs), count(this.stack.queues.dlq)]);
      return { queued: jobs.visible, inFlight: jobs.inFlight, deadLettered: dlq.visible + dlq.inFlight };
    } finally {
      sqs.destroy();
    }
  }

  /**
   * The jobIds of the letters in the dead-letter queue, read at the end of the drill (each
   * receive makes its letters visible again at once: nothing else reads them then).
   */
  async deadLetteredJobIds(): Promise<Set<string>> {
    const sqs = this.sqs();
    const jobIds = new Set<string>();
    const letters = new Set<string>();
    try {
      for (let receive = 0; receive < 20; receive++) {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: this.stack.queues.dlq, MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 0 }));
        const before = letters.size;
        for (const letter of Messages) {
          letters.add(letter.MessageId!);
          jobIds.add((JSON.parse(letter.Body ?? "{}") as { jobId?: string }).jobId ?? "");
        }
        if (letters.size === before) break;
      }
    } finally {
      sqs.destroy();
    }
    return jobIds;
  }

  private dynamo(): { client: DynamoDBClient; table: string } {
    const table = (JSON.parse(this.stack.environment.SST_RESOURCE_Messages!) as { name: string }).name;
    const client = new DynamoDBClient({ region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, endpoint: this.stack.environment.AWS_ENDPOINT_URL_DYNAMODB! });
    return { client, table };
  }

  /** Deletes a stored message behind the system's back: only the checker's own controls do this. */
  async deleteStoredMessage(message: Message): Promise<void> {
    const { client, table } = this.dynamo();
    try {
      await client.send(new DeleteItemCommand({ TableName: table, Key: { sessionId: { S: message.sessionId }, createdAt: { N: String(message.createdAt) } } }));
    } finally {
      client.destroy();
    }
  }

  /** Every row of a session in the Messages table, read with the plain DynamoDB client. */
  async storedMessages(sessionId: string): Promise<Message[]> {
    const { client, table } = this.dynamo();
    const rows: Message[] = [];
    try {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({ TableName: table, KeyConditionExpression: "sessionId = :s", ExpressionAttributeValues: { ":s": { S: sessionId } }, ConsistentRead: true, ExclusiveStartKey: start }),
        );
        for (const item of page.Items ?? []) rows.push(Message.parse(fromItem(item)));
        start = page.LastEvaluatedKey;
      } while (start);
    } finally {
      client.destroy();
    }
    return rows;
  }

  /** Quiet: nothing queued or in flight for a second and a half, or the bound passed. */
  async quiesce(withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    let quietSince: number | undefined;
    while (Date.now() < deadline) {
      const state = await this.queueState().catch(() => undefined);
      if (state && state.queued === 0 && state.inFlight === 0) {
        quietSince ??= Date.now();
        if (Date.now() - quietSince >= 1_500) return true;
      } else {
        quietSince = undefined;
      }
      await sleep(250);
    }
    return false;
  }

  async cleanUp(): Promise<void> {
    await Promise.all(this.tabs.map((tab) => tab.close()));
    await this.stackProcess?.stop();
    await this.cluster?.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Runs a drill to its verdict; never throws for a broken promise, only reports it. */
export async function runDrill(drill: Drill, log: (line: string) => void = () => undefined): Promise<DrillResult> {
  const started = Date.now();
  const run = new DrillRun(drill);
  const violations: string[] = [];
  let injected = "nothing (the drill failed before its fault)";
  let histories: SessionHistory[] = [];
  let queues: QueueState = { queued: 0, inFlight: 0, deadLettered: 0 };
  let events: { all: BusEvent[]; deadLetteredJobIds: Set<string> } | undefined;
  try {
    await run.start();
    run.users = Array.from({ length: drill.sessions }, (_, i) => `drill-${drill.name}-${i + 1}`);
    run.tabs = await Promise.all(run.users.map(async (user) => Tab.open(run.stack.webSocketUrl, await run.token(user))));
    const sent: SentMessage[][] = run.tabs.map(() => []);
    run.sent = sent;
    const unacked: string[][] = run.tabs.map(() => []);
    const workload = Promise.all(
      run.tabs.map(async (tab, s) => {
        for (let t = 1; t <= drill.turns; t++) {
          const text = `${drill.name}: session ${s + 1}, message ${t} of ${drill.turns}`;
          try {
            sent[s]!.push(await tab.send(text));
          } catch {
            unacked[s]!.push(text);
          }
        }
      }),
    );
    const fault = drill.inject(run).then(
      (what) => (injected = what),
      (error: unknown) => {
        violations.push(`the fault could not be injected: ${error instanceof Error ? error.message : String(error)}`);
      },
    );
    await Promise.all([workload, fault]);
    log(`  injected: ${injected}`);
    const quiet = await run.quiesce(drill.quiesceMs ?? 60_000);
    if (!quiet) violations.push(`not quiet within ${(drill.quiesceMs ?? 60_000) / 1000} s`);
    queues = await run.queueState();
    histories = await Promise.all(
      run.tabs.map(async (tab, s) => ({
        sessionId: tab.sessionId,
        sent: sent[s]!.map((m) => ({ messageId: m.messageId, text: m.text })),
        unacked: unacked[s]!,
        stored: await run.storedMessages(tab.sessionId),
        seen: tab.messages,
        arrival: tab.arrival,
        caughtUp: tab.caughtUp,
      })),
    );
    if (drill.check?.events) events = { all: await run.events(), deadLetteredJobIds: await run.deadLetteredJobIds() };
  } catch (error) {
    violations.push(`the drill broke: ${error instanceof Error ? error.message : String(error)}`);
  }
  const verdict = check(histories, queues, drill.check);
  if (events && drill.check?.events && histories.length > 0) checkEvents(histories, events.all, verdict, { delivery: drill.check.events, deadLetteredJobIds: events.deadLetteredJobIds });
  violations.push(...verdict.violations);
  if (histories.length > 0) violations.push(...(drill.expect?.(verdict.figures) ?? []));
  if (violations.length > 0 && process.env.AZUCHI_DRILL_LOGS) for (const line of run.logs.slice(-60)) log(`    | ${line}`);
  await run.cleanUp().catch((error: unknown) => violations.push(`clean-up failed: ${String(error)}`));
  const result = { name: drill.name, title: drill.title, injected, figures: verdict.figures, violations, durationMs: Date.now() - started, passed: violations.length === 0 };
  log(`  verified: ${formatFigures(result.figures)}`);
  for (const violation of violations) log(`  VIOLATION ${violation}`);
  return result;
}

/** A DynamoDB item as plain JSON. */
function fromItem(item: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([key, value]) => [key, fromValue(value)]));
}

function fromValue(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.M !== undefined) return fromItem(value.M);
  if (value.L !== undefined) return value.L.map(fromValue);
  if (value.SS !== undefined) return value.SS;
  if (value.NS !== undefined) return value.NS.map(Number);
  throw new Error(`unexpected DynamoDB value ${JSON.stringify(value)}`);
}


/**
 * `npm run bench`: the agent's speed and cost per turn, measured through the whole local
 * stack (WebSocket, queue, consumer, Redis, DynamoDB, offline model) as a user sees it.
 *
 * The stack runs in a child process (stack-process.ts), the clients here. The run measures:
 * the offline model's own first-token time, by a direct streaming request, and every latency
 * also as a ratio to it; one idle session's turns (p50/p95/p99 of ack, first AGENT_LOG, first
 * delta, reply), its AWS calls per turn (GET /dev/calls) and Redis round trips (MONITOR); a
 * closed-loop sweep (1, 10, 50, 200 sessions, each turn after the last) and an open-loop sweep
 * (a steady rate of turns/s over many sessions, as people send), both over sessions that have
 * had their first exchange (ten at a time before the sweeps, reported as a row of its own), which
 * finds the capacity: the
 * highest rate whose p99 first delta is within 1.5× the model's first-token time; CPU ms per
 * turn and peak RSS of the stack; bundle sizes and cold imports when bundles.ts is present.
 *
 *   npm run bench -- [--quick] [--json out.json] [--svg out.svg] [--first-token-ms 300] [--token-ms 2] [--words 10]
 *     [--rates 10,20,40] [--closed 1,10|none] [--seconds 4] [--repeat 3] [--skip-bundles] [--cpu-prof DIR]
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { agentMessageId, CallCounts, MetricsSnapshot, ServerFrame, userMessageId } from "@azuchi/core";
import type { BenchStackMessage, BenchStackReady } from "./stack-process.ts";
import { measureBundles } from "./bundles.ts";
import { commandOptions } from "../cli-args.ts";
import { renderSweepSvg } from "./svg.ts";
import type { ProcessUsage } from "./usage.ts";

const values = commandOptions(
  `npm run bench -- [--quick] [--json out.json] [--svg out.svg] [--first-token-ms 300] [--token-ms 2] [--words 10]
    [--turns 30] [--rates 10,20,40] [--closed 1,10|none] [--seconds 10] [--repeat 3] [--skip-bundles] [--cpu-prof DIR]
  The agent's speed and cost per turn through the whole local stack (README: Measuring).
  --quick           a shorter sweep (about two minutes)
  --rates, --closed the open loop's turns/s and the closed loop's session counts (none skips it)
  --seconds         each open-loop rate's length; --repeat N rounds, each rate judged by its median p99
  --turns, --words  the idle session's turns; words in each message
  --skip-bundles    leaves out the bundle sizes and cold imports
  --cpu-prof DIR    a CPU profile of each of the stack's threads`,
  {
    quick: { type: "boolean", default: false },
    json: { type: "string" },
    svg: { type: "string", default: "bench-results/sweep.svg" },
    /** Sequential turns of the idle session. */
    turns: { type: "string" },
    /** Words in each message; the offline model's reply quotes it, so this sets the reply's length. */
    words: { type: "string", default: "10" },
    "first-token-ms": { type: "string", default: "300" },
    "token-ms": { type: "string", default: "2" },
    /** The open loop's rates, e.g. `10,20,40` (default: the plan's); and the closed loop's session counts (`none` skips it). */
    rates: { type: "string" },
    closed: { type: "string" },
    /** Leaves out the bundle sizes and cold imports (about half a minute). */
    "skip-bundles": { type: "boolean", default: false },
    /** Seconds each open-loop rate runs. */
    seconds: { type: "string" },
    /**
     * Runs the open-loop sweep this many times, one round after another, and judges each rate by
     * its median p99: on a machine whose speed drifts, one 10 s window decides too much.
     */
    repeat: { type: "string", default: "1" },
    /** Writes a CPU profile of each of the stack's threads (node --cpu-prof) into this folder. */
    "cpu-prof": { type: "string" },
  },
);
const quick = values.quick;
const numbers = (text: string | undefined) => (text === undefined ? undefined : text === "none" ? [] : text.split(",").map(Number));
const plan = {
  idleTurns: Number(values.turns ?? (quick ? 10 : 30)),
  closed: { sessions: numbers(values.closed) ?? (quick ? [1, 10, 50] : [1, 10, 50, 200]), turnsEach: quick ? 3 : 5 },
  open: {
    sessions: quick ? 100 : 200,
    rates: numbers(values.rates) ?? (quick ? [10, 20, 40, 60] : [10, 20, 30, 40, 60, 80, 100]),
    seconds: Number(values.seconds ?? (quick ? 4 : 10)),
    repeat: Math.max(1, Math.floor(Number(values.repeat)) || 1),
  },
};
const words = Math.max(1, Number(values.words));
/** The capacity criterion: p99 first delta within this many times the model's own first token. */
const CAPACITY_RATIO = 1.5;
const TURN_TIMEOUT_MS = 60_000;

// ---- the stack, in its own process ------------------------------------------------------------
const child: ChildProcess = fork(fileURLToPath(new URL("./stack-process.ts", import.meta.url)), [
  JSON.stringify({ firstTokenMs: Number(values["first-token-ms"]), tokenMs: Number(values["token-ms"]) }),
], {
  stdio: ["ignore", "inherit", "inherit", "ipc"],
  ...(values["cpu-prof"] ? { execArgv: [...process.execArgv, "--cpu-prof", `--cpu-prof-dir=${values["cpu-prof"]}`] } : {}),
});
const stack = await new Promise<BenchStackReady>((resolve, reject) => {
  child.once("exit", (code) => reject(new Error(`the stack process exited (${code}) before it was ready`)));
  child.on("message", (message: BenchStackMessage) => {
    if (message.type === "ready") resolve(message);
  });
});
const scriptNames = new Map<string, string>();
const stackUsage = () =>
  new Promise<ProcessUsage[]>((resolve) => {
    const listener = (message: BenchStackMessage) => {
      if (message.type !== "usage") return;
      child.off("message", listener);
      for (const [sha, name] of Object.entries(message.scripts)) scriptNames.set(sha, name);
      resolve(message.processes);
    };
    child.on("message", listener);
    child.send({ type: "usage" });
  });
const redis = new Redis({ host: stack.redis.host, port: stack.redis.port });

/** The stack's processes and redis-server: CPU ms (summed) and the largest peak RSS of a stack process. */
async function usageNow() {
  const processes = await stackUsage();
  const info = await redis.info("cpu");
  const redisCpuMs = 1000 * (Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0));
  return {
    stackCpuMs: processes.reduce((sum, p) => sum + p.cpuMs, 0),
    redisCpuMs,
    maxRssBytes: Math.max(...processes.map((p) => p.maxRssBytes)),
  };
}

async function calls(reset = false): Promise<CallCounts> {
  const response = await fetch(`${stack.url}/dev/calls${reset ? "/reset" : ""}`, { method: reset ? "POST" : "GET" });
  return CallCounts.parse(await response.json());
}

// ---- the model's own first-token time ---------------------------------------------------------
/** One streaming request straight to the offline model: ms until its first text delta. */
async function modelFirstToken(): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${stack.modelBaseURL}/responses`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer offline" },
    body: JSON.stringify({ model: stack.modelName, input: "How fast is the first token?", stream: true }),
  });
  if (!response.ok || !response.body) throw new Error(`the offline model answered ${response.status}`);
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  let text = "";
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    text += decoder.decode(chunk.value, { stream: true });
    if (text.includes("response.output_text.delta")) {
      const at = performance.now() - started;
      await reader.cancel().catch(() => undefined);
      return at;
    }
  }
  throw new Error("the offline model's stream ended without a text delta");
}

// ---- clients -----------------------------------------------------------------------------------
interface TurnTimes {
  sent: number;
  ack?: number;
  agentLog?: number;
  firstDelta?: number;
  reply?: number;
}
type Latency = { ack: number; agentLog: number; firstDelta: number; reply: number };
const FIGURES = ["ack", "agentLog", "firstDelta", "reply"] as const;

/** One tab of its own session. Turns are told apart by their ids, so several may overlap. */
class Tab {
  readonly socket: WebSocket;
  sessionId = "";
  errors = 0;
  private readonly byJob = new Map<string, TurnTimes & { done: () => void }>();
  private readonly byReply = new Map<string, TurnTimes>();
  private sessionKnown: (() => void) | undefined;

  constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on("message", (data) => {
      const frame = ServerFrame.safeParse(JSON.parse(String(data)));
      if (frame.success) return this.onFrame(frame.data, performance.now());
      // Not azuchi's: API Gateway's own answer to a route that failed ({"message": "Internal server error", …}).
      this.errors++;
      if (this.errors <= 3) console.error(`a frame that is not azuchi's: ${String(data).slice(0, 300)}`);
    });
  }

  static async open(user: string): Promise<Tab> {
    const { token } = (await (await fetch(`${stack.url}/dev/token?user=${user}`)).json()) as { token: string };
    const socket = new WebSocket(`${stack.webSocketUrl}?token=${token}`);
    await new Promise((resolve, reject) => (socket.once("open", resolve), socket.once("error", reject)));
    const tab = new Tab(socket);
    await new Promise<void>((resolve) => {
      tab.sessionKnown = resolve;
      socket.send(JSON.stringify({ action: "getSession" }));
    });
    return tab;
  }

  /**
   * Sends one message; resolves with its latencies once the stored reply arrives, or after
   * TURN_TIMEOUT_MS without one with the figures it has (the missing ones NaN, counted as
   * unanswered): an overloaded stack is a finding, not a crash of the bench.
   */
  async turn(text: string): Promise<Latency> {
    const clientMessageId = randomUUID();
    const jobId = userMessageId(this.sessionId, clientMessageId);
    const finished = new Promise<void>((resolve) => this.byJob.set(jobId, { sent: 0, done: resolve }));
    const record = this.byJob.get(jobId)!;
    this.byReply.set(agentMessageId(jobId, "reply"), record);
    record.sent = performance.now();
    this.socket.send(JSON.stringify({ action: "putMessage", message: text, clientMessageId }));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, TURN_TIMEOUT_MS)));
    try {
      await Promise.race([finished, timedOut]);
    } finally {
      clearTimeout(timer);
      this.byJob.delete(jobId);
      this.byReply.delete(agentMessageId(jobId, "reply"));
    }
    const since = (at: number | undefined) => (at ?? Number.NaN) - record.sent;
    return { ack: since(record.ack), agentLog: since(record.agentLog), firstDelta: since(record.firstDelta), reply: since(record.reply) };
  }

  private onFrame(frame: ServerFrame, at: number): void {
    if (frame.type === "session") {
      this.sessionId = frame.session.sessionId;
      this.sessionKnown?.();
    } else if (frame.type === "ack") {
      const turn = this.byJob.get(frame.messageId);
      if (turn) turn.ack ??= at;
    } else if (frame.type === "delta") {
      const turn = this.byReply.get(frame.messageId);
      if (turn) turn.firstDelta ??= at;
    } else if (frame.type === "message" && frame.message.jobId !== undefined) {
      const turn = this.byJob.get(frame.message.jobId);
      if (!turn) return;
      if (frame.message.messageType === "AGENT_LOG") turn.agentLog ??= at;
      if (frame.message.messageType === "CONVERSATION" && frame.message.role === "AGENT") {
        turn.reply = at;
        turn.done();
      }
    } else if (frame.type === "error") {
      this.errors++;
    }
  }
}

async function openTabs(count: number, prefix: string): Promise<Tab[]> {
  const tabs: Tab[] = [];
  for (let start = 0; start < count; start += 25) {
    tabs.push(...(await Promise.all(Array.from({ length: Math.min(25, count - start) }, (_, i) => Tab.open(`${prefix}-${start + i}`)))));
  }
  return tabs;
}

/**
 * Each session's first exchange, ten sessions at a time, before the sweeps. A chat's first
 * exchange costs more than any later one (its summary's count goes from 0, and its title: a
 * `Query`, an `UpdateItem` and a `PutEvents` more, 25 AWS calls where a later turn makes 15); the
 * sweeps measure chats already under way, as people send, and this, reported apart, a crowd of
 * chats begun together.
 */
async function firstExchanges(tabs: Tab[]): Promise<Latency[]> {
  const samples: Latency[] = [];
  for (let start = 0; start < tabs.length; start += 10) {
    samples.push(...(await Promise.all(tabs.slice(start, start + 10).map((tab) => tab.turn("hello")))));
  }
  return samples;
}

// ---- figures -----------------------------------------------------------------------------------
const percentile = (values: number[], p: number) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const median = (values: number[]) => percentile(values, 50);

interface Distribution { p50: number; p95: number; p99: number }
function distributions(samples: Latency[]): Record<(typeof FIGURES)[number], Distribution> {
  return Object.fromEntries(FIGURES.map((key) => {
    const values = samples.map((s) => s[key]);
    return [key, { p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99) }];
  })) as Record<(typeof FIGURES)[number], Distribution>;
}

function perTurn(counts: CallCounts, turns: number) {
  const byCall = Object.fromEntries(Object.entries(counts.calls).sort().map(([name, n]) => [name, n / turns]));
  const sum = (prefix: string) => Object.entries(byCall).filter(([name]) => name.startsWith(prefix)).reduce((a, [, n]) => a + n, 0);
  return { byCall, dynamodb: sum("dynamodb."), all: sum("") };
}

/**
 * The idle session's turn in the shape `npm run capacity -- --profile <bench.json>` reads
 * (packages/ops/src/capacity/model.ts `TurnProfile`): AWS's service names for the operations.
 */
const CAPACITY_SERVICE: Record<string, string> = { dynamodb: "DynamoDB_20120810", sqs: "AmazonSQS", eventbridge: "AWSEvents" };
function capacityProfile(idle: { byCall: Record<string, number> }, redisPerTurn: Record<string, number>) {
  const callsPerTurn: Record<string, number> = {
    // Lambda's event source mapping receives and deletes each job (batch size 1, as deployed);
    // locally the stack's poller stands in for it and is left out of /dev/calls.
    "AmazonSQS.ReceiveMessage": 1,
    "AmazonSQS.DeleteMessageBatch": 1,
  };
  for (const [name, n] of Object.entries(idle.byCall)) {
    const [service, operation] = name.split(".") as [string, string];
    const key = service === "connections" ? `ApiGatewayManagement.${operation === "PostToConnection" ? "POST" : operation === "DeleteConnection" ? "DELETE" : "GET"}` : `${CAPACITY_SERVICE[service] ?? service}.${operation}`;
    callsPerTurn[key] = (callsPerTurn[key] ?? 0) + n;
  }
  const redisRoundTripsPerTurn = Object.values(redisPerTurn).reduce((a, b) => a + b, 0);
  return { measuredWith: "npm run bench: the idle session's turns, AWS calls from GET /dev/calls, Redis round trips from MONITOR", callsPerTurn, redisRoundTripsPerTurn, clientFramesPerTurn: 1 };
}

/** Runs `work` and reports its turns' latencies, calls and CPU per turn. */
async function measured(turns: () => Promise<Latency[]>) {
  await calls(true);
  const before = await usageNow();
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const samples = await turns();
  const wallMs = performance.now() - started;
  // The load generator's own CPU (the tabs, their frames' parsing, the measuring): if it neared a
  // core, the bench and not the stack would set the figures.
  const client = process.cpuUsage(clientBefore);
  const clientCpuMs = (client.user + client.system) / 1000;
  // Session titles run on the AgentRunCompleted event, after the reply: give them a moment.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const after = await usageNow();
  const count = samples.length;
  const unanswered = samples.filter((s) => !Number.isFinite(s.reply)).length;
  return {
    turns: count,
    unanswered,
    wallMs,
    /** Answered turns per second of the run's wall time. */
    turnsPerSecond: (count - unanswered) / (wallMs / 1000),
    latency: distributions(samples),
    calls: perTurn(await calls(), count),
    cpuMsPerTurn: { stack: (after.stackCpuMs - before.stackCpuMs) / count, redis: (after.redisCpuMs - before.redisCpuMs) / count, client: clientCpuMs / count },
    /** The bench process's CPU over the run's wall time: 1000 would be a whole core. */
    clientCpuMsPerSecond: clientCpuMs / (wallMs / 1000),
    maxRssBytes: after.maxRssBytes,
  };
}

const text = (i: number) => `turn ${i}: ${Array.from({ length: words }, (_, w) => `word${w}`).join(" ")}`;
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

async function main() {
  const warm = await Tab.open("bench-idle");
  await warm.turn("warm up");
  await settle();
  const modelSamples: number[] = [];
  for (let i = 0; i < 7; i++) modelSamples.push(await modelFirstToken());
  const modelFirstTokenMs = median(modelSamples);
  // What the stack spends doing nothing (pollers, timers), so CPU per turn can be read against it.
  const quiet = await usageNow();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const idleCpuMsPerSecond = ((await usageNow()).stackCpuMs - quiet.stackCpuMs) / 2;
  loadAtStart = loadavg()[0]!;
  baseline = modelFirstTokenMs;

  // One idle session, with Redis round trips (MONITOR sees each command a client sends, apart from those a Lua script runs).
  const roundTrips = new Map<string, number>();
  await stackUsage(); // learns the scripts' names
  const monitor = await redis.monitor();
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (source.startsWith("lua")) return;
    const command = args[0]!.toLowerCase();
    const name = command === "evalsha" || command === "eval" ? `script ${scriptNames.get(args[1]!) ?? args[1]!.slice(0, 8)}` : command;
    if (name !== "info") roundTrips.set(name, (roundTrips.get(name) ?? 0) + 1);
  });
  const idle = await measured(async () => {
    const samples: Latency[] = [];
    for (let i = 0; i < plan.idleTurns; i++) {
      samples.push(await warm.turn(text(i)));
      await settle(); // the turn's memory write and lock release finish off the clock
    }
    return samples;
  });
  monitor.disconnect();
  // Where the idle first delta's time goes, from the handlers' own metrics (warm-up turn included).
  const metrics = MetricsSnapshot.parse(await (await fetch(`${stack.url}/dev/metrics`)).json());
  const metricP50 = (name: string) => metrics.metrics.find((m) => m.name === name)?.p50 ?? Number.NaN;
  const idleBreakdown = { queueWaitMs: metricP50("QueueWait"), turnStartToFirstTokenMs: metricP50("TimeToFirstToken") };
  const redisPerTurn = Object.fromEntries([...roundTrips].map(([name, n]) => [name, n / plan.idleTurns]));

  // The sweeps' sessions: none when neither sweep runs (`--rates none --closed none`).
  const pool = await openTabs(Math.max(plan.open.rates.length > 0 ? plan.open.sessions : 0, ...plan.closed.sessions), "bench");
  // Measured as a row of its own: the harder case of a crowd of chats begun together.
  const firsts = pool.length > 0 ? { sessions: pool.length, ...(await measured(() => firstExchanges(pool))) } : undefined;
  if (firsts) report(`first exchanges, 10 at a time`, firsts);
  await settle();
  const closed = [];
  for (const sessions of plan.closed.sessions) {
    const tabs = pool.slice(0, sessions);
    const run = await measured(async () => (await Promise.all(tabs.map(async (tab) => {
      const samples: Latency[] = [];
      for (let i = 0; i < plan.closed.turnsEach; i++) samples.push(await tab.turn(text(i)));
      return samples;
    }))).flat());
    closed.push({ sessions, ...run });
    report(`closed ${sessions} sessions`, run);
    await settle();
  }

  const tabs = pool.slice(0, plan.open.sessions);
  const openRate = (rate: number) =>
    measured(async () => {
      const turns: Promise<Latency>[] = [];
      const total = Math.round(rate * plan.open.seconds);
      const start = performance.now();
      for (let i = 0; i < total; i++) {
        const due = start + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        turns.push(tabs[i % tabs.length]!.turn(text(i)));
      }
      return Promise.all(turns);
    });
  type OpenRun = Awaited<ReturnType<typeof openRate>>;
  const holds = (run: OpenRun) => run.unanswered === 0 && run.latency.firstDelta.p99 <= CAPACITY_RATIO * modelFirstTokenMs;
  // The first round finds the knee: two rates past the criterion are enough to see it; more
  // only queue turns up. Later rounds run the rates the first one ran, in the same order.
  const rounds = new Map<number, OpenRun[]>();
  for (let round = 1; round <= plan.open.repeat; round++) {
    let overloaded = 0;
    for (const rate of round === 1 ? plan.open.rates : [...rounds.keys()]) {
      const run = await openRate(rate);
      rounds.set(rate, [...(rounds.get(rate) ?? []), run]);
      report(`open ${rate}/s over ${tabs.length} sessions${plan.open.repeat > 1 ? ` (${round}/${plan.open.repeat})` : ""}`, run);
      await settle();
      if (round === 1 && !holds(run) && ++overloaded >= 2) break;
    }
  }
  // Each rate as its run of median p99 first delta, with every round's p99 and CPU a turn (in the JSON) and how many held.
  const open = [...rounds].map(([rate, runs]) => {
    const byP99 = runs.toSorted((a, b) => a.latency.firstDelta.p99 - b.latency.firstDelta.p99);
    const median = byP99[Math.floor((byP99.length - 1) / 2)]!;
    return { rate, sessions: tabs.length, ...median, rounds: { p99s: runs.map((run) => run.latency.firstDelta.p99), stackCpuMsPerTurn: runs.map((run) => run.cpuMsPerTurn.stack), held: runs.filter(holds).length } };
  });
  const within = open.filter(holds);
  const capacity = within.length > 0 ? Math.max(...within.map((run) => run.rate)) : 0;

  const bundles = values["skip-bundles"] ? undefined : await measureBundles();
  for (const tab of [warm, ...pool]) tab.socket.close();
  return { modelFirstTokenMs, modelSamples, idleCpuMsPerSecond, idle, idleBreakdown, redisPerTurn, firsts, closed, open, capacity, bundles, errors: [warm, ...pool].reduce((a, t) => a + t.errors, 0) };
}

// ---- output ------------------------------------------------------------------------------------
let baseline = Number.NaN;
/** The machine's 1-minute load average when the measuring began: the figures are only comparable at a similar load. */
let loadAtStart = Number.NaN;
const ms = (value: number) => `${value.toFixed(1)} ms`;
const ratio = (value: number) => `${(value / baseline).toFixed(2)}×`;

function report(label: string, run: Awaited<ReturnType<typeof measured>>) {
  const d = run.latency.firstDelta;
  console.log(`  ${label.padEnd(28)} ${run.turnsPerSecond.toFixed(1).padStart(6)} turns/s  first delta p50 ${ratio(d.p50)} p95 ${ratio(d.p95)} p99 ${ratio(d.p99)}  ` +
    `reply p99 ${ms(run.latency.reply.p99)}${run.unanswered > 0 ? ` (${run.unanswered} unanswered in ${TURN_TIMEOUT_MS / 1000} s)` : ""}  CPU/turn ${run.cpuMsPerTurn.stack.toFixed(1)} ms (+redis ${run.cpuMsPerTurn.redis.toFixed(1)}; bench client ${run.cpuMsPerTurn.client.toFixed(1)}, ${(run.clientCpuMsPerSecond / 10).toFixed(0)}% of a core)  AWS calls/turn ${run.calls.all.toFixed(1)}`);
}

try {
  console.log(`azuchi bench${quick ? " --quick" : ""} — offline model firstTokenMs=${stack.model.firstTokenMs} tokenMs=${stack.model.tokenMs}, ${words + 2}-word messages; ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(1)} GB, Node ${process.version}`);
  const results = await main();
  console.log(`load average (1 min) at the start: ${loadAtStart.toFixed(2)}, at the end: ${loadavg()[0]!.toFixed(2)}`);
  console.log(`model's own first token (direct streaming request, median of ${results.modelSamples.length}): ${ms(baseline)}`);
  console.log(`one idle session, ${results.idle.turns} turns:`);
  for (const key of FIGURES) {
    const d = results.idle.latency[key];
    console.log(`  ${key.padEnd(10)} p50 ${ms(d.p50).padStart(9)} ${ratio(d.p50).padStart(6)}   p95 ${ms(d.p95).padStart(9)} ${ratio(d.p95).padStart(6)}   p99 ${ms(d.p99).padStart(9)} ${ratio(d.p99).padStart(6)}`);
  }
  const { queueWaitMs, turnStartToFirstTokenMs } = results.idleBreakdown;
  const chatAndSocketMs = results.idle.latency.firstDelta.p50 - queueWaitMs - turnStartToFirstTokenMs;
  console.log(`  first delta p50, by part (the handlers' metrics, p50): chat + queue send + the delta's post ${ms(chatAndSocketMs)}, queue wait ${ms(queueWaitMs)}, turn start → model's first token ${ms(turnStartToFirstTokenMs)} (of which the model ${ms(baseline)})`);
  const idleCalls = results.idle.calls;
  console.log(`  AWS calls per turn: ${idleCalls.all.toFixed(1)} (DynamoDB ${idleCalls.dynamodb.toFixed(1)}) — ${Object.entries(idleCalls.byCall).map(([name, n]) => `${name} ${n.toFixed(1)}`).join(", ")}`);
  const trips = Object.values(results.redisPerTurn).reduce((a, b) => a + b, 0);
  console.log(`  Redis round trips per turn: ${trips.toFixed(1)} — ${Object.entries(results.redisPerTurn).map(([name, n]) => `${name} ${n.toFixed(1)}`).join(", ")}`);
  console.log(`  CPU per turn: stack ${results.idle.cpuMsPerTurn.stack.toFixed(1)} ms, redis-server ${results.idle.cpuMsPerTurn.redis.toFixed(1)} ms; stack peak RSS ${(results.idle.maxRssBytes / 2 ** 20).toFixed(0)} MB`);
  console.log(`  (the stack with nothing to do spends ${results.idleCpuMsPerSecond.toFixed(1)} ms CPU per second; every CPU figure includes that share of its run)`);
  console.log(`capacity (highest open-loop rate with p99 first delta ≤ ${CAPACITY_RATIO}× the model's${plan.open.repeat > 1 ? `, the median of ${plan.open.repeat} rounds` : ""}): ${plan.open.rates.length === 0 ? "not measured (--rates none)" : results.capacity > 0 ? `${results.capacity} turns/s` : `below ${plan.open.rates[0]} turns/s`}`);
  if (results.bundles) {
    for (const b of results.bundles) console.log(`  bundle ${b.handler.padEnd(28)} ${(b.loadedBytes / 1024).toFixed(0).padStart(6)} KB loaded (${(b.shippedBytes / 1024).toFixed(0)} KB shipped)  cold import ${ms(b.coldImportMs)}`);
  } else {
    console.log(`bundles: not measured (${values["skip-bundles"] ? "--skip-bundles" : "packages/local/src/bench/bundles.ts is not on this branch"})`);
  }
  if (results.errors > 0) console.log(`error frames received: ${results.errors}`);

  console.log("\n| load | turns/s | first delta p50 | p99 | reply p99 | CPU ms/turn | AWS calls/turn |\n|---|---|---|---|---|---|---|");
  const row = (label: string, run: Awaited<ReturnType<typeof measured>>) =>
    console.log(`| ${label} | ${run.turnsPerSecond.toFixed(1)} | ${ratio(run.latency.firstDelta.p50)} | ${ratio(run.latency.firstDelta.p99)} | ${ms(run.latency.reply.p99)}${run.unanswered > 0 ? ` (${run.unanswered} unanswered)` : ""} | ${run.cpuMsPerTurn.stack.toFixed(1)} | ${run.calls.all.toFixed(1)} |`);
  row("1 idle session", results.idle);
  if (results.firsts) row(`first exchanges, 10 at a time over ${results.firsts.sessions}`, results.firsts);
  for (const run of results.closed) row(`closed, ${run.sessions} sessions`, run);
  for (const run of results.open) {
    const rounds = run.rounds.p99s.length > 1 ? ` (median of ${run.rounds.p99s.length}: p99 ${run.rounds.p99s.map((p99) => ratio(p99)).join(", ")}; ${run.rounds.held} held)` : "";
    row(`open, ${run.rate}/s over ${run.sessions}${rounds}`, run);
  }

  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), node: process.version, platform: process.platform, loadAverageAtStart: loadAtStart };
  const output = { at: new Date().toISOString(), machine, quick, settings: { ...stack.model, words }, ...results, profile: capacityProfile(results.idle.calls, results.redisPerTurn) };
  if (values.json) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, `${JSON.stringify(output, null, 2)}\n`);
    console.log(`\nJSON written to ${values.json}`);
  }
  mkdirSync(dirname(values.svg), { recursive: true });
  writeFileSync(values.svg, renderSweepSvg({
    modelFirstTokenMs: baseline,
    capacityRatio: CAPACITY_RATIO,
    closed: results.closed.map((run) => ({ x: run.sessions, p50: run.latency.firstDelta.p50, p99: run.latency.firstDelta.p99 })),
    open: results.open.map((run) => ({ x: run.rate, p50: run.latency.firstDelta.p50, p99: run.latency.firstDelta.p99 })),
    caption: `${machine.cpus} × ${machine.cpuModel ?? "cpu"}, Node ${machine.node}; model first token ${ms(baseline)}`,
  }));
  console.log(`chart written to ${values.svg}`);
} finally {
  redis.disconnect();
  child.send({ type: "stop" });
  await new Promise((resolve) => child.once("exit", resolve));
}

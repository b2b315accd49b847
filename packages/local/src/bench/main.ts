/**
 * `npm run bench`: the agent's speed and cost per turn, measured through the whole local
 * stack (WebSocket, queue, consumer, Redis, DynamoDB, offline model) as a user sees it.
 *
 * Reports, per turn: time to the ack, to the first AGENT_LOG, to the first delta and to the
 * final reply (p50/p95); Redis commands; @connections calls; and the throughput of many
 * sessions answered at once. Timings depend on the offline model's settings, printed too.
 */
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { definedScripts, type ServerFrame } from "@azuchi/core";
import { startLocalStack } from "../stack.ts";

const { values } = parseArgs({
  options: {
    turns: { type: "string", default: "30" },
    sessions: { type: "string", default: "10" },
    /** Words in each message; the offline model's reply quotes it, so this sets the reply's length. */
    words: { type: "string", default: "10" },
    "first-token-ms": { type: "string", default: "20" },
    "token-ms": { type: "string", default: "2" },
  },
});
const turns = Number(values.turns);
const parallelSessions = Number(values.sessions);
const words = Math.max(1, Number(values.words));

process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
const stack = await startLocalStack({
  port: 0,
  ephemeral: true,
  log: () => undefined,
  model: { firstTokenMs: Number(values["first-token-ms"]), tokenMs: Number(values["token-ms"]) },
  // Messages are rate limited per user (a burst of 10, then one a second): the bench's one user measures turns, not the limit.
  environment: { AZUCHI_RATE_BURST: String(turns + 10) },
});
const memory = JSON.parse(stack.environment.SST_RESOURCE_AgentMemory!) as { host: string; port: number };
const redis = new Redis({ host: memory.host, port: memory.port });

async function token(user: string): Promise<string> {
  return ((await (await fetch(`${stack.url}/dev/token?user=${user}`)).json()) as { token: string }).token;
}

async function open(user: string): Promise<{ socket: WebSocket; next: (match: (f: ServerFrame) => boolean) => Promise<number> }> {
  const socket = new WebSocket(`${stack.webSocketUrl}?token=${await token(user)}`);
  const waiters: { match: (f: ServerFrame) => boolean; resolve: (at: number) => void }[] = [];
  socket.on("message", (data) => {
    const frame = JSON.parse(String(data)) as ServerFrame;
    const at = performance.now();
    for (const waiter of [...waiters]) {
      if (waiter.match(frame)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(at);
      }
    }
  });
  await new Promise((resolve, reject) => (socket.once("open", resolve), socket.once("error", reject)));
  return { socket, next: (match) => new Promise((resolve) => waiters.push({ match, resolve })) };
}

const isReply = (f: ServerFrame) => f.type === "message" && f.message.role === "AGENT" && f.message.messageType === "CONVERSATION";

async function oneTurn(client: Awaited<ReturnType<typeof open>>, text: string) {
  const sent = performance.now();
  const ack = client.next((f) => f.type === "ack");
  const log = client.next((f) => f.type === "message" && f.message.messageType === "AGENT_LOG");
  const delta = client.next((f) => f.type === "delta");
  const reply = client.next(isReply);
  client.socket.send(JSON.stringify({ action: "putMessage", message: text }));
  const refused = client.next((f) => f.type === "error").then((at) => Promise.reject(new Error(`refused at ${at}`)));
  const [a, l, d, r] = await Promise.race([Promise.all([ack, log, delta, reply]), refused]);
  return { ack: a - sent, agentLog: l - sent, firstDelta: d - sent, reply: r - sent };
}

const commandsProcessed = async () => Number(/total_commands_processed:(\d+)/.exec(await redis.info("stats"))![1]);
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;
const ms = (value: number) => `${value.toFixed(1)} ms`;

try {
  const client = await open("bench");
  await oneTurn(client, "warm up");
  await new Promise((resolve) => setTimeout(resolve, 200));

  const samples: Awaited<ReturnType<typeof oneTurn>>[] = [];
  // MONITOR sees each command a client sends (a round trip) apart from those a Lua script runs.
  const roundTrips = new Map<string, number>();
  const monitor = await redis.monitor();
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (source === "lua" || source.startsWith("lua")) return;
    const name = args[0]!.toLowerCase() === "evalsha" || args[0]!.toLowerCase() === "eval" ? `script ${definedScripts.get(args[1]!) ?? args[1]!.slice(0, 8)}` : args[0]!.toLowerCase();
    roundTrips.set(name, (roundTrips.get(name) ?? 0) + 1);
  });
  const redisBefore = await commandsProcessed();
  const postsBefore = stack.managementCalls();
  const tab = client;
  for (let i = 0; i < turns; i++) {
    samples.push(await oneTurn(tab, `turn ${i}: ${Array.from({ length: words }, (_, w) => `word${w}`).join(" ")}`));
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the turn write its memory and release the lock
  }
  // Each INFO call is itself a command; the turns' own count excludes the two made here.
  const redisPerTurn = (await commandsProcessed() - redisBefore - 1) / turns;
  monitor.disconnect();
  roundTrips.delete("info");
  const postsPerTurn = (stack.managementCalls() - postsBefore) / turns;

  const clients = await Promise.all(Array.from({ length: parallelSessions }, (_, i) => open(`bench-${i}`)));
  const started = performance.now();
  const parallel = await Promise.all(clients.map((c, i) => oneTurn(c, `parallel session ${i}`)));
  const wall = performance.now() - started;

  const model = stack.model!.settings();
  console.log(`azuchi bench — ${turns} sequential turns of ${words + 2}-word messages, one tab; offline model firstTokenMs=${model.firstTokenMs} tokenMs=${model.tokenMs}`);
  for (const key of ["ack", "agentLog", "firstDelta", "reply"] as const) {
    const values = samples.map((s) => s[key]);
    console.log(`  ${key.padEnd(10)} p50 ${ms(percentile(values, 50)).padStart(9)}   p95 ${ms(percentile(values, 95)).padStart(9)}`);
  }
  const trips = [...roundTrips.values()].reduce((a, b) => a + b, 0) / turns;
  console.log(`  Redis round trips per turn (agent and chat): ${trips.toFixed(1)} — ${[...roundTrips].map(([name, n]) => `${name} ${(n / turns).toFixed(1)}`).join(", ")}`);
  console.log(`  Redis commands executed per turn, those inside scripts included: ${redisPerTurn.toFixed(1)}`);
  console.log(`  @connections calls per turn (one tab; ack, USER message, AGENT_LOG, deltas, reply): ${postsPerTurn.toFixed(1)}`);
  console.log(`${parallelSessions} sessions at once: all answered in ${ms(wall)}; slowest reply ${ms(Math.max(...parallel.map((p) => p.reply)))}`);
  for (const c of [tab, ...clients]) c.socket.close();
} finally {
  redis.disconnect();
  await stack.stop();
}
// The handlers' clients live at module scope, as in a Lambda, and would go on reconnecting to
// the stopped Redis for minutes: the figures are printed, so end here.
process.exit(0);

/**
 * The fault drills: one fault each, injected while several sessions send several turns.
 * Short drills (a few seconds) also run in `npm test`; long ones (lock expiry, long outages,
 * restarts) only in `npm run drills`.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { randomUUID } from "node:crypto";
import { AGENT_EVENT_SOURCE } from "@azuchi/core";
import type { CheckOptions, Figures } from "./checker.ts";
import type { Drill, DrillRun } from "./harness.ts";
import { sleep } from "./tab.ts";

const execFileAsync = promisify(execFile);
const opsCli = fileURLToPath(new URL("../../../ops/src/main.ts", import.meta.url));

const everyAnswered = (f: Figures) => (f.answered === f.sent ? [] : [`expected every message answered, ${f.answered} of ${f.sent} were`]);
/** A Redis fault may fail between an announcement and its record in `…:announced`, or lose the record: events at least once. */
const redisFault = { events: "at-least-once" } satisfies CheckOptions;
/** A drill that kills the consumer: its turns wait out the visibility timeout and the lock's TTL, then every message is answered. */
const consumerKilled = { long: true, sessions: 2, turns: 3, quiesceMs: 120_000, expect: everyAnswered, check: { events: "exactly-once" } } satisfies Partial<Drill>;

export const drills: Drill[] = [
  {
    name: "model-429",
    title: "the model answers 429 with Retry-After (4 requests), then heals",
    long: false,
    sessions: 3,
    turns: 3,
    // The openai client's own retries honour Retry-After; the agent's retries come after them.
    stack: { environment: { AZUCHI_OPENAI_MAX_RETRIES: "1" } },
    check: { events: "exactly-once" },
    async inject(run) {
      await run.model({ mode: "rate-limit", retryAfterSeconds: 1, faultRequests: 4 });
      await run.untilModelHealed();
      return "POST /dev/model rate-limit: 4 model requests answered 429, Retry-After 1 s, x-ratelimit-remaining-requests 0, then ok";
    },
  },
  {
    name: "model-500",
    title: "the model answers 500 (3 requests), then heals",
    long: false,
    sessions: 3,
    turns: 3,
    check: { events: "exactly-once" },
    async inject(run) {
      await run.model({ mode: "fail", faultRequests: 3 });
      await run.untilModelHealed();
      return "POST /dev/model fail: 3 model requests answered 500, then ok";
    },
  },
  {
    name: "model-hang",
    title: "the model hangs without a first token (2 requests) until the client times out",
    long: false,
    sessions: 2,
    turns: 3,
    check: { events: "exactly-once" },
    async inject(run) {
      await run.model({ mode: "hang", faultRequests: 2 });
      await run.untilModelHealed();
      return "POST /dev/model hang: 2 model requests got no byte until the agent's OpenAI client gave up (3 s), then ok";
    },
  },
  {
    name: "redis-cluster-failover",
    title: "on a three-master Redis Cluster, a streaming session's master is killed and its replica promoted",
    long: false,
    sessions: 3,
    turns: 3,
    redisCluster: true,
    check: redisFault,
    async inject(run) {
      await run.untilStreaming();
      const port = await run.killStreamingSessionsMaster();
      return `SIGKILL to the Redis Cluster master on port ${port} while a turn of its session streamed; its replica took over its slots`;
    },
  },
  {
    name: "duplicate-jobs",
    title: "one job delivered again: new dedup id and the same dedup id, after and during its turn",
    long: false,
    sessions: 2,
    turns: 3,
    check: { events: "exactly-once" },
    async inject(run) {
      // After its turn: session 1's first message, once answered.
      await run.until(() => (run.sent[0]?.length ?? 0) >= 1, 30_000, "session 1's first message was not acked");
      const done = run.sent[0]![0]!;
      await run.until(() => [...run.tabs[0]!.messages.values()].some((m) => m.jobId === done.messageId && m.role === "AGENT" && m.messageType === "CONVERSATION"), 30_000, "session 1's first message was not answered");
      await sendDuplicates(run, 0, done.messageId);
      // During its turn or while queued: session 2's last message, as soon as it is acked.
      await run.until(() => (run.sent[1]?.length ?? 0) >= run.drill.turns, 60_000, "session 2's messages were not all acked");
      const queued = run.sent[1]!.at(-1)!;
      await sendDuplicates(run, 1, queued.messageId);
      return "SendMessage of an answered job and of a queued job, each twice: a fresh MessageDeduplicationId and the original one";
    },
  },
  {
    name: "websocket-drop",
    title: "every tab's WebSocket cut mid-stream twice, reopened with sessionId and getSession after",
    long: false,
    sessions: 3,
    turns: 3,
    // Tokens 10 ms apart: a reply streams for a second or so, so a tab reconnects into a live stream.
    stack: { model: { tokenMs: 10 } },
    check: { events: "exactly-once" },
    async inject(run) {
      let dropped = 0;
      await Promise.all(
        run.tabs.map(async (tab) => {
          for (let round = 1; round <= 2; round++) {
            const deltas = () => tab.frames.filter((f) => f.type === "delta").length;
            const seen = deltas();
            await run.until(() => deltas() > seen, 30_000, "a tab saw no stream");
            tab.drop();
            dropped++;
            await tab.reconnect();
          }
        }),
      );
      return `${dropped} sockets terminated without a close frame mid-stream (twice per tab), each reopened at once with its sessionId and caught up with getSession after`;
    },
  },
  {
    name: "redis-empty",
    title: "Redis replaced by an empty one mid-turn",
    long: false,
    sessions: 3,
    turns: 3,
    check: redisFault,
    async inject(run) {
      await run.untilStreaming();
      await run.redisStart(true);
      return "redis-server stopped mid-stream and started empty on the same port (a failover to a new node)";
    },
  },
  {
    name: "bus-fail",
    title: "EventBridge fails the agent's PutEvents (6 requests: twice past the SDK's 3 attempts), then heals",
    long: false,
    sessions: 2,
    turns: 3,
    check: { events: "exactly-once" },
    async inject(run) {
      await run.busFault({ mode: "fail", source: AGENT_EVENT_SOURCE, requests: 6 });
      await run.until(async () => (await run.busFaults()).failed === 6, 60_000, "the agent's PutEvents were not all failed");
      return "POST /dev/bus fail: 6 of the agent's PutEvents requests answered 500 InternalException, then ok; a turn whose events could not be published fails silently and its next delivery publishes them";
    },
  },
  {
    name: "dlq-replay",
    title: "the model failing past the attempts fills the DLQ; replayed once it heals",
    long: false,
    sessions: 2,
    turns: 2,
    stack: { maxAttempts: 2 },
    check: { answerAfterGiveUp: true, events: "exactly-once" },
    expect: (f) => [...(f.told === f.sent ? [] : [`expected every message told it was given up, ${f.told} of ${f.sent} were`]), ...everyAnswered(f)],
    async inject(run) {
      await run.model({ mode: "fail" });
      const total = run.drill.sessions * run.drill.turns;
      await run.until(() => run.sent.flat().length === total, 60_000, "not every message was acked");
      await run.until(
        async () => (await run.queueState()).deadLettered >= total,
        60_000,
        `the DLQ did not fill with ${total} jobs`,
      );
      // Each told before the replay, as a user would have been.
      const told = () => run.tabs.flatMap((tab) => [...tab.messages.values()]).filter((m) => m.messageType === "SYSTEM_LOG" && (m.payload as { final?: boolean } | undefined)?.final).length;
      await run.until(() => told() >= total, 30_000, `fewer than ${total} tabs were told their message was given up`);
      await run.model({ mode: "ok" });
      const moved = await replayDeadLetters(run);
      return `POST /dev/model fail until ${total} jobs were dead-lettered (2 attempts each), then ok; ${moved} replayed with azuchi-ops dlq replay --all`;
    },
  },
  {
    name: "consumer-kill",
    title: "the consumer's instance killed mid-turn: redelivery after visibility, lock expiry",
    ...consumerKilled,
    async inject(run) {
      await run.untilStreaming();
      const killed = await run.crashConsumer();
      return `the consumer's worker thread terminated mid-stream with ${killed} invocation(s) running; their records stay in flight until the 25 s visibility timeout and the lock until its 30 s TTL`;
    },
  },
  {
    name: "consumer-kill-before-events",
    title: "the consumer's instance killed after a turn's reply and memory are written, before its events reach the bus",
    ...consumerKilled,
    async inject(run) {
      // The turn's closing PutEvents (its messages' MessagePosted and AgentRunCompleted) is held
      // unapplied: the consumer dies with it in flight, as if killed the moment before it sent it.
      await run.busFault({ mode: "hold", source: AGENT_EVENT_SOURCE, detailType: "AgentRunCompleted", requests: 1 });
      await run.until(async () => (await run.busFaults()).open === 1, 60_000, "no turn reached its events");
      const killed = await run.crashConsumer();
      await run.busFault(null);
      return `a turn's closing PutEvents held unapplied, then the consumer's worker thread terminated with ${killed} invocation(s) running; the bus must still see each stored message announced once and each answered job completed once`;
    },
  },
  {
    name: "redis-stop-10s",
    title: "Redis stopped for 10 s mid-turn, then started with its data",
    long: true,
    sessions: 3,
    turns: 3,
    quiesceMs: 120_000,
    check: redisFault,
    async inject(run) {
      await run.untilStreaming();
      await run.redisHalt();
      await sleep(10_000);
      await run.redisStart(false);
      return "redis-server stopped mid-stream for 10 s, started again on the same port with its append-only file";
    },
  },
  {
    name: "redis-stop-past-redrive",
    title: "Redis stopped for longer than the redrive window (maxReceiveCount 3)",
    long: true,
    sessions: 2,
    turns: 2,
    stack: { maxReceiveCount: 3 },
    quiesceMs: 120_000,
    check: redisFault,
    async inject(run) {
      await run.untilStreaming();
      await run.redisHalt();
      // Receives 1 s, 4 s and 16 s apart: the fourth is past the redrive policy's three.
      await sleep(30_000);
      await run.redisStart(false);
      return "redis-server stopped mid-stream for 30 s, longer than 3 receives (1 s, 4 s, 16 s apart), then started with its data";
    },
  },
  {
    name: "stack-restart",
    title: "the whole stack stopped with jobs queued and in flight, started on the same data dir",
    long: true,
    sessions: 3,
    turns: 4,
    quiesceMs: 120_000,
    expect: everyAnswered,
    // No events check: the stack's record of them (GET /dev/events) does not outlive its process.
    async inject(run) {
      await run.untilStreaming();
      const killed = await run.crashConsumer();
      const before = await run.queueState();
      await run.restartStack();
      for (const tab of run.tabs) if (!tab.connected) await tab.reconnect();
      return `consumer killed mid-stream (${killed} invocation(s)), then the stack stopped with ${before.queued} job(s) queued and ${before.inFlight} in flight, and started again on the same data dir and port; tabs reconnected`;
    },
  },
];

/** A second delivery of a USER message's job, built from its stored row as the chat service builds it. */
async function sendDuplicates(run: DrillRun, tab: number, messageId: string): Promise<void> {
  const sessionId = run.tabs[tab]!.sessionId;
  const user = (await run.storedMessages(sessionId)).find((m) => m.messageId === messageId);
  if (!user) throw new Error(`${messageId} is not stored`);
  const body = JSON.stringify({ v: 1, jobId: user.messageId, sessionId, userId: run.users[tab], connectionId: user.connectionId, messageId: user.messageId, message: user.message, createdAt: user.createdAt, source: "websocket" });
  const sqs = run.sqs();
  try {
    for (const dedup of [randomUUID(), user.messageId]) {
      await sqs.send(new SendMessageCommand({ QueueUrl: run.stack.queues.jobs, MessageBody: body, MessageGroupId: sessionId, MessageDeduplicationId: dedup }));
    }
  } finally {
    sqs.destroy();
  }
}

/** Ops' replay until there is tooling: each dead letter sent back to AgentJobs, then deleted from the DLQ. */
/**
 * Replays the dead-letter queue as an operator would: `azuchi-ops dlq replay --all --yes`
 * against the drill's stack (each letter back in its session's group and order, a replay
 * deduplication id, deleted only after its send succeeded).
 */
async function replayDeadLetters(run: DrillRun): Promise<number> {
  const { stdout } = await execFileAsync(process.execPath, [opsCli, "dlq", "replay", "--all", "--yes", "--json", "--local", run.stack.url], { timeout: 60_000 });
  const { replayed } = JSON.parse(stdout) as { replayed: unknown[] };
  return replayed.length;
}

/**
 * Controls: faults outside the system that the checker must catch, so a passing drill means
 * something. `npm test` runs them and expects them to fail.
 */
export const controls: Drill[] = [
  {
    name: "control-lost-reply",
    title: "control: a stored reply deleted behind the system's back must be reported lost",
    long: false,
    sessions: 1,
    turns: 2,
    async inject(run) {
      await run.untilReplies(1);
      const tab = run.tabs[0]!;
      const reply = (await run.storedMessages(tab.sessionId)).find((m) => m.role === "AGENT" && m.messageType === "CONVERSATION");
      if (!reply) throw new Error("no reply stored");
      await run.deleteStoredMessage(reply);
      return `deleted reply ${reply.messageId} from the Messages table`;
    },
  },
  {
    name: "control-extra-message",
    title: "control: a USER message stored that the workload never sent must be reported duplicated",
    long: false,
    sessions: 1,
    turns: 1,
    async inject(run) {
      await run.untilReplies(1);
      // Sent past the workload's record, as a double store would leave a row no ack named.
      await run.tabs[0]!.send("a message outside the workload");
      return "one USER message sent outside the workload's record";
    },
  },
];

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Message, ServerFrame } from "@azuchi/core";
import { sendMessage } from "../support/chat.ts";
import { announcedPort } from "../support/ports.ts";
import { startTestRedis } from "../support/redis.ts";
import { openClient, type TestClient } from "../support/ws-client.ts";

/**
 * `npm start` stopped (SIGTERM) or killed (SIGKILL) with a job queued or in flight, and started
 * again on the same data folder: the job is answered, once. The stack runs in a child process,
 * as npm start does, because a handler's clients are created once per process.
 *
 * A turn sends its reply before it writes its memory and publishes AgentRunCompleted (the events
 * report what happened, last), so seeing the reply says nothing about the event yet. The tests
 * count a job's completions once the queue holds no job at all, visible or in flight: the
 * consumer has returned from every delivery, so each PutEvents it made has been answered, and the
 * bus (on the stack's main thread, as the queue) has handed its events to /dev/events before it
 * could take the DeleteMessage that emptied the queue. The first stack's bus is in its memory
 * only: a killed stack's events are not counted, and in these tests it never completes a turn.
 */

const main = fileURLToPath(new URL("../../packages/local/src/main.ts", import.meta.url));
let dataDir: string;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "azuchi-restart-"));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

interface StackProcess {
  url: string;
  connect(sessionId?: string): Promise<TestClient>;
  events(): Promise<{ "detail-type": string; detail: { jobId?: string } }[]>;
  /** Jobs on AgentJobs, visible, in flight or delayed. */
  jobsOnQueue(): Promise<number>;
  stop(signal: "SIGTERM" | "SIGKILL"): Promise<number | null>;
}

async function startStack(environment: Record<string, string> = {}): Promise<StackProcess> {
  const { OPENAI_API_KEY: _unused, ...inherited } = process.env;
  const child = spawn(process.execPath, [main], {
    env: { ...inherited, PORT: "0", AZUCHI_DATA_DIR: dataDir, POWERTOOLS_LOG_LEVEL: "SILENT", ...environment },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));
  cleanups.push(async () => {
    // SIGTERM first: a stack stopped with SIGKILL leaves the redis-server it started running.
    if (running) child.kill("SIGTERM");
    const stopped = await Promise.race([exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 15_000))]);
    if (!stopped) child.kill("SIGKILL");
    await exited;
  });
  await expect.poll(() => (running ? announcedPort(output) : "exited"), { timeout: 30_000, interval: 100 }).toBeTypeOf("number");
  const port = announcedPort(output)!;
  const url = `http://127.0.0.1:${port}`;
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  return {
    url,
    async connect(sessionId) {
      const { token } = (await (await fetch(`${url}/dev/token?user=alice`)).json()) as { token: string };
      const socket = new URL(`ws://127.0.0.1:${port}/ws`);
      socket.searchParams.set("token", token);
      if (sessionId) socket.searchParams.set("sessionId", sessionId);
      return openClient(socket.toString());
    },
    async events() {
      return ((await (await fetch(`${url}/dev/events`)).json()) as { events: { "detail-type": string; detail: { jobId?: string } }[] }).events;
    },
    async jobsOnQueue() {
      const { region, sqs: queues } = (await (await fetch(`${url}/dev/resources`)).json()) as { region: string; sqs: { endpoint: string; jobs: { url: string } } };
      const sqs = new SQSClient({ endpoint: queues.endpoint, region, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
      try {
        const { Attributes = {} } = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: queues.jobs.url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"] }),
        );
        return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible) + Number(Attributes.ApproximateNumberOfMessagesDelayed);
      } finally {
        sqs.destroy();
      }
    },
    async stop(signal) {
      child.kill(signal);
      return exited;
    },
  };
}

/** AgentRunCompleted events of `jobId` on this stack's bus, once every job on its queue is done. */
async function completionsOnceSettled(stack: StackProcess, jobId: string): Promise<number> {
  await expect.poll(() => stack.jobsOnQueue(), { timeout: 30_000, interval: 200 }).toBe(0);
  return completions(await stack.events(), jobId);
}

async function slowModel(stack: StackProcess, firstTokenMs: number): Promise<void> {
  const response = await fetch(`${stack.url}/dev/model`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ firstTokenMs }) });
  expect(response.status).toBe(200);
}

async function sessionOf(tab: TestClient): Promise<{ sessionId: string; messages: Message[] }> {
  const start = tab.frames.length;
  tab.send({ action: "getSession", limit: 100 });
  const frame = await tab.waitFor((f) => f.type === "session" && tab.frames.indexOf(f) >= start);
  if (frame.type !== "session") throw new Error("unreachable");
  return { sessionId: frame.session.sessionId, messages: frame.messages };
}

const isReplyTo = (jobId: string) => (frame: ServerFrame) =>
  frame.type === "message" && frame.message.role === "AGENT" && frame.message.messageType === "CONVERSATION" && frame.message.jobId === jobId;
const isStartOf = (jobId: string) => (frame: ServerFrame) => frame.type === "message" && frame.message.role === "AGENT" && frame.message.jobId === jobId;

const repliesTo = (messages: Message[], jobId: string) =>
  messages.filter((m) => m.role === "AGENT" && m.messageType === "CONVERSATION" && m.jobId === jobId);
const completions = (events: Awaited<ReturnType<StackProcess["events"]>>, jobId: string) =>
  events.filter((event) => event["detail-type"] === "AgentRunCompleted" && event.detail.jobId === jobId).length;

describe("the local stack restarted on the same data folder", () => {
  it("answers, once, a job left queued behind a turn in flight when npm start was stopped", async () => {
    const first = await startStack();
    await slowModel(first, 2_000);
    const tab = await first.connect();
    const { sessionId } = await sessionOf(tab);
    const running = await sendMessage(tab, "first, answered slowly");
    const queued = await sendMessage(tab, "second, queued behind it");
    await tab.waitFor(isStartOf(running), 20_000);
    // Stopping finishes the turn in flight; the job behind it stays in the queue.
    expect(await first.stop("SIGTERM")).toBe(0);

    const second = await startStack();
    const reopened = await second.connect(sessionId);
    // The tab that reconnects gets the answer live, or finds it in the session if it came first.
    await expect.poll(async () => repliesTo((await sessionOf(reopened)).messages, queued).length, { timeout: 30_000, interval: 200 }).toBe(1);
    const { messages } = await sessionOf(reopened);
    expect(repliesTo(messages, running)).toHaveLength(1);
    expect(await completionsOnceSettled(second, queued)).toBe(1);
    await reopened.close();
    await tab.close();
  }, 60_000);

  it("answers, once, a job in flight when the stack was killed with SIGKILL", async () => {
    // Redis outside the stack: a killed stack cannot stop the redis-server it started.
    const redis = await startTestRedis();
    cleanups.push(() => redis.stop());
    const first = await startStack({ REDIS_URL: redis.url });
    await slowModel(first, 60_000);
    const tab = await first.connect();
    const { sessionId } = await sessionOf(tab);
    const job = await sendMessage(tab, "answered after a crash");
    await tab.waitFor(isStartOf(job), 20_000);
    await first.stop("SIGKILL");
    await tab.close();

    const second = await startStack({ REDIS_URL: redis.url });
    const reopened = await second.connect(sessionId);
    // Visible again at once; the dead turn's session lock (30 s) expires first.
    await reopened.waitFor(isReplyTo(job), 60_000);
    const { messages } = await sessionOf(reopened);
    expect(repliesTo(messages, job)).toHaveLength(1);
    expect(await completionsOnceSettled(second, job)).toBe(1);
    await reopened.close();
  }, 90_000);
});

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message, ServerFrame } from "@azuchi/core";
import { isAgentReply, sendMessage } from "../support/chat.ts";
import { stackSqs, startTestStack, type TestStack } from "../support/stack.ts";
import type { TestClient } from "../support/ws-client.ts";

/**
 * The `sst dev` consumer (stacks/dev/consume-agent-jobs.ts, what stacks/agent.ts's
 * DEV_CONSUMER_COMMAND runs) as `sst dev` runs it: a process of its own, given the links as
 * SST_RESOURCE_* variables. Here they are the local stack's, with the AWS_ENDPOINT_URL_*
 * variables that point its SDK clients at the emulators, and the stack runs no AgentJobs
 * consumer of its own: the jobs are this process's to answer, or they wait.
 */

const script = fileURLToPath(new URL("../../stacks/dev/consume-agent-jobs.ts", import.meta.url));
let stack: TestStack;
let sqs: SQSClient;

beforeAll(async () => {
  stack = await startTestStack({ consumerRuntime: "none" });
  sqs = stackSqs(stack);
});
afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
});

interface ConsumerProcess {
  /** SIGTERM, as `sst dev` stops its dev commands; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the consumer and resolves once it says it is polling the queue. */
async function startConsumer(): Promise<ConsumerProcess> {
  const { OPENAI_API_KEY: _unused, ...inherited } = process.env;
  const child = spawn(process.execPath, [script], {
    env: { ...inherited, ...stack.environment, POWERTOOLS_LOG_LEVEL: "SILENT" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const polling = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line.startsWith("consuming ")) resolve();
    });
    void exited.then((code) => reject(new Error(`the consumer exited (${code}) before it polled`)));
  });
  await polling;
  let stopped: Promise<number | null> | undefined;
  const consumer = {
    stop: () => {
      if (!stopped) {
        child.kill("SIGTERM");
        stopped = exited;
      }
      return stopped;
    },
  };
  running.add(consumer);
  return consumer;
}
const running = new Set<ConsumerProcess>();
afterAll(async () => {
  for (const consumer of running) await consumer.stop();
});

/** Jobs on AgentJobs: visible, in flight or delayed. */
async function jobsOnQueue(): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: stack.queues.jobs, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible) + Number(Attributes.ApproximateNumberOfMessagesDelayed);
}

async function sessionMessages(tab: TestClient): Promise<Message[]> {
  const start = tab.frames.length;
  tab.send({ action: "getSession", limit: 100 });
  const frame = await tab.waitFor((f) => f.type === "session" && tab.frames.indexOf(f) >= start);
  if (frame.type !== "session") throw new Error("unreachable");
  return frame.messages;
}

const isReplyTo = (jobId: string) => (frame: ServerFrame) => isAgentReply(frame) && frame.type === "message" && frame.message.jobId === jobId;

describe("the `sst dev` consumer against the local stack's queue", () => {
  it("answers a job end to end; stopped, leaves the jobs sent meanwhile on the queue; started again, answers each once, in order", { timeout: 120_000 }, async () => {
    const first = await startConsumer();
    const tab = await stack.connect("alice");
    const hello = await sendMessage(tab, "hello from sst dev");
    const reply = await tab.waitFor(isReplyTo(hello));
    if (reply.type !== "message") throw new Error("unreachable");
    expect(reply.message.message).toContain("hello from sst dev");
    // The poller deletes a job once the handler has returned from it.
    await expect.poll(jobsOnQueue, { timeout: 30_000, interval: 100 }).toBe(0);

    expect(await first.stop()).toBe(0);
    const texts = ["one while stopped", "two while stopped", "three while stopped"];
    const waiting: string[] = [];
    for (const text of texts) waiting.push(await sendMessage(tab, text));
    await expect.poll(jobsOnQueue, { timeout: 10_000, interval: 100 }).toBe(texts.length);
    expect(tab.frames.filter((f) => waiting.some((jobId) => isReplyTo(jobId)(f)))).toEqual([]);

    const second = await startConsumer();
    for (const jobId of waiting) await tab.waitFor(isReplyTo(jobId), 60_000);
    await expect.poll(jobsOnQueue, { timeout: 30_000, interval: 100 }).toBe(0);
    expect(await second.stop()).toBe(0);

    // Each job answered once, quoting its own message, in the order they were sent.
    const replies = (await sessionMessages(tab)).filter((m) => m.role === "AGENT" && m.messageType === "CONVERSATION");
    expect(replies.map((m) => m.jobId)).toEqual([hello, ...waiting]);
    replies.slice(1).forEach((m, index) => expect(m.message).toContain(texts[index]));
    expect(tab.frames.filter(isAgentReply).map((f) => (f.type === "message" ? f.message.jobId : ""))).toEqual([hello, ...waiting]);
    await tab.close();
  });
});

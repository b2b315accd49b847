/**
 * The metrics ops see, on the local stack: the handlers' EMF lines, captured off stdout and
 * aggregated at GET /dev/metrics (the contract `azuchi-ops status` reads).
 */
import { GetQueueAttributesCommand, SetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { MetricSeries, MetricsSnapshot } from "../../packages/core/src/metrics-snapshot.ts";
import { AGENT_METRICS, AGENT_METRICS_SERVICE } from "../../packages/agent/src/run-metrics.ts";
import { CHAT_METRICS, CHAT_METRICS_SERVICE } from "../../packages/chat/src/message-metrics.ts";
import { isAgentReply } from "../support/chat.ts";
import { stackSqs, startTestStack, type TestStack } from "../support/stack.ts";

/** GET /dev/metrics, exactly as documented (strict: no field more or less). */
// The contract azuchi-ops status reads, with nothing beside it.
const Snapshot = z.strictObject({ ...MetricsSnapshot.shape, metrics: z.array(z.strictObject(MetricSeries.shape)) });
type Snapshot = z.infer<typeof Snapshot>;

let stack: TestStack;
const startedAt = Date.now();

beforeAll(async () => {
  stack = await startTestStack({
    maxAttempts: 1,
    // Carol's burst is used up by the rate-limit test; the others send fewer.
    environment: { AZUCHI_OPENAI_MAX_RETRIES: "0", AZUCHI_RATE_BURST: "4", AZUCHI_RATE_PER_SECOND: "0.01" },
  });
});
afterAll(async () => {
  await stack?.stop();
});

async function snapshot(): Promise<Snapshot> {
  const response = await fetch(`${stack.url}/dev/metrics`);
  expect(response.status).toBe(200);
  return Snapshot.parse(await response.json());
}

const sameDimensions = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([key, value]) => b[key] === value);

function series(of: Snapshot, name: string, dimensions: Record<string, string>) {
  return of.metrics.find((metric) => metric.name === name && sameDimensions(metric.dimensions, dimensions));
}

// The local stack's SST App stage is "local".
const agent = { service: AGENT_METRICS_SERVICE, stage: "local" };
const chat = { service: CHAT_METRICS_SERVICE, stage: "local" };
const count = (of: Snapshot, name: string, dimensions: Record<string, string>) => series(of, name, dimensions)?.count ?? 0;

/** Waits until the metric has counted `more` values beyond `before` (flushed as the invocation ends, after the reply). */
async function countReaches(before: Snapshot, name: string, dimensions: Record<string, string>, more: number): Promise<Snapshot> {
  const target = count(before, name, dimensions) + more;
  await expect.poll(async () => count(await snapshot(), name, dimensions), { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(target);
  return snapshot();
}

describe("GET /dev/metrics", () => {
  it("counts a few turns with their first token, duration, queue wait and tokens, and the accepted messages", async () => {
    const before = await snapshot();
    expect(before.since).toBeGreaterThanOrEqual(startedAt);
    expect(before.since).toBeLessThanOrEqual(Date.now());
    const tab = await stack.connect("alice");
    const sent = Date.now();
    for (const text of ["hello there", "what time is it?", "one more"]) {
      const start = tab.frames.length;
      tab.send({ action: "putMessage", message: text, clientMessageId: crypto.randomUUID() });
      await tab.waitFor((frame) => tab.frames.indexOf(frame) >= start && isAgentReply(frame));
    }
    const elapsed = Date.now() - sent;
    await tab.close();

    const after = await countReaches(before, AGENT_METRICS.turnsCompleted.name, agent, 3);
    const turns = series(after, AGENT_METRICS.turnsCompleted.name, agent)!;
    expect(turns).toMatchObject({ unit: "Count", min: 1, max: 1 });
    expect(turns.count - count(before, turns.name, agent)).toBe(3);
    const accepted = await countReaches(before, CHAT_METRICS.messagesAccepted.name, chat, 3);
    expect(count(accepted, CHAT_METRICS.messagesAccepted.name, chat) - count(before, CHAT_METRICS.messagesAccepted.name, chat)).toBe(3);

    for (const metric of [AGENT_METRICS.timeToFirstToken, AGENT_METRICS.turnDuration, AGENT_METRICS.queueWait]) {
      const timing = series(after, metric.name, agent);
      expect(timing, metric.name).toBeDefined();
      expect(timing!.unit).toBe("Milliseconds");
      expect(timing!.count - count(before, metric.name, agent)).toBe(3);
      // Sane: none negative, none longer than the three exchanges took, percentiles in range.
      expect(timing!.min).toBeGreaterThanOrEqual(0);
      expect(timing!.max).toBeLessThanOrEqual(elapsed);
      expect(timing!.p50).toBeGreaterThanOrEqual(timing!.min);
      expect(timing!.p95).toBeGreaterThanOrEqual(timing!.p50);
      expect(timing!.p95).toBeLessThanOrEqual(timing!.max);
      expect(timing!.sum).toBeGreaterThanOrEqual(timing!.min * timing!.count);
    }
    // The first token comes within the turn.
    expect(series(after, AGENT_METRICS.timeToFirstToken.name, agent)!.max).toBeLessThanOrEqual(series(after, AGENT_METRICS.turnDuration.name, agent)!.max);
    expect(series(after, AGENT_METRICS.turnDuration.name, agent)!.min).toBeGreaterThan(0);

    for (const metric of [AGENT_METRICS.inputTokens, AGENT_METRICS.outputTokens]) {
      const tokens = series(after, metric.name, agent);
      expect(tokens, metric.name).toMatchObject({ unit: "Count" });
      expect(tokens!.count - count(before, metric.name, agent)).toBe(3);
      expect(tokens!.min).toBeGreaterThan(0);
      expect(Number.isInteger(tokens!.sum)).toBe(true);
    }
    // Low cardinality: no series is per session, user, job or connection.
    for (const metric of after.metrics) expect(Object.keys(metric.dimensions).filter((key) => /session|user|job|connection|message/i.test(key))).toEqual([]);
  });

  it("counts a failing model's failures and give-ups by kind and reason", async () => {
    const before = await snapshot();
    await fetch(`${stack.url}/dev/model`, { method: "POST", body: JSON.stringify({ mode: "fail" }) });
    try {
      const tab = await stack.connect("bob");
      tab.send({ action: "putMessage", message: "this one fails", clientMessageId: crypto.randomUUID() });
      const after = await countReaches(before, AGENT_METRICS.jobsGivenUp.name, { ...agent, reason: "ModelCallError.overloaded" }, 1);
      await tab.close();
      const failures = series(after, AGENT_METRICS.turnFailures.name, { ...agent, kind: "retryable", reason: "ModelCallError.overloaded" });
      expect(failures).toMatchObject({ unit: "Count" });
      expect(failures!.count - count(before, AGENT_METRICS.turnFailures.name, failures!.dimensions)).toBe(1);
      // A failed turn is neither completed nor timed as one.
      expect(count(after, AGENT_METRICS.turnsCompleted.name, agent)).toBe(count(before, AGENT_METRICS.turnsCompleted.name, agent));
    } finally {
      await fetch(`${stack.url}/dev/model`, { method: "POST", body: JSON.stringify({ mode: "ok" }) });
    }
  });

  it("counts the messages refused by the user's rate limit", async () => {
    const before = await snapshot();
    const tab = await stack.connect("carol");
    for (let i = 0; i < 6; i++) tab.send({ action: "putMessage", message: `burst ${i}`, clientMessageId: crypto.randomUUID() });
    // Each message is answered: an ack, or a RATE_LIMITED error.
    const refused = () => tab.frames.filter((frame) => frame.type === "error" && frame.code === "RATE_LIMITED").length;
    await expect.poll(() => tab.frames.filter((frame) => frame.type === "ack").length + refused(), { timeout: 20_000, interval: 20 }).toBe(6);
    expect(refused()).toBeGreaterThanOrEqual(1);
    const after = await countReaches(before, CHAT_METRICS.messagesRateLimited.name, chat, refused());
    expect(count(after, CHAT_METRICS.messagesRateLimited.name, chat) - count(before, CHAT_METRICS.messagesRateLimited.name, chat)).toBe(refused());
    // Accepted ones are counted just after their ack.
    const accepted = await countReaches(before, CHAT_METRICS.messagesAccepted.name, chat, 6 - refused());
    expect(count(accepted, CHAT_METRICS.messagesAccepted.name, chat) - count(before, CHAT_METRICS.messagesAccepted.name, chat)).toBe(6 - refused());
    await tab.close();
  });

  it("counts a message stored but not queued as an enqueue failure, not as accepted", async () => {
    const before = await snapshot();
    const sqs = stackSqs(stack);
    // A real SQS refusal: a job over the queue's maximum size.
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.queues.jobs, AttributeNames: ["MaximumMessageSize"] }));
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: stack.queues.jobs, Attributes: { MaximumMessageSize: "1024" } }));
    try {
      const tab = await stack.connect("erin");
      tab.send({ action: "putMessage", message: "x".repeat(2000), clientMessageId: crypto.randomUUID() });
      await tab.waitFor((frame) => frame.type === "error" && frame.code === "INTERNAL");
      await tab.close();
    } finally {
      await sqs.send(new SetQueueAttributesCommand({ QueueUrl: stack.queues.jobs, Attributes: { MaximumMessageSize: Attributes!.MaximumMessageSize! } }));
      sqs.destroy();
    }
    const after = await countReaches(before, CHAT_METRICS.enqueueFailures.name, chat, 1);
    expect(count(after, CHAT_METRICS.enqueueFailures.name, chat) - count(before, CHAT_METRICS.enqueueFailures.name, chat)).toBe(1);
    expect(count(after, CHAT_METRICS.messagesAccepted.name, chat)).toBe(count(before, CHAT_METRICS.messagesAccepted.name, chat));
  });
});

/**
 * What the handlers write is EMF CloudWatch can extract (Powertools Metrics' real output, read
 * raw off stdout), and the local stack's capture takes exactly those lines, from an in-process
 * handler or a worker-thread consumer alike.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_METRICS, AGENT_METRICS_SERVICE, METRICS_NAMESPACE, reasonCode, recordFailure, recordGiveUp, recordTokens, recordTurnOutcome, withRunMetrics } from "../../packages/agent/src/run-metrics.ts";
import { ModelCallError, TurnDeadlineError, TurnFailedError } from "../../packages/agent/src/turn-errors.ts";
import { captureEmfLines, MetricsAggregator, parseEmfLine, type EmfDocument } from "../../packages/local/src/emf-metrics.ts";
import { isAgentReply } from "../support/chat.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";

/** Everything written to stdout while `run` runs, as text (passed on, unless told not to). */
async function stdoutOf(run: () => Promise<unknown>, passOn = true): Promise<string> {
  const chunks: string[] = [];
  const original = process.stdout.write;
  process.stdout.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    return passOn ? (Reflect.apply(original, this, [chunk, ...rest]) as boolean) : true;
  } as typeof process.stdout.write;
  try {
    await run();
  } finally {
    process.stdout.write = original;
  }
  return chunks.join("");
}

interface RawEmf {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [field: string]: unknown;
}

let stack: TestStack;
/** What gets past the stack's capture to the real stdout (recorded beneath it). */
const passedThrough: string[] = [];
let realWrite: typeof process.stdout.write;
beforeAll(async () => {
  realWrite = process.stdout.write;
  process.stdout.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    passedThrough.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    return Reflect.apply(realWrite, this, [chunk, ...rest]) as boolean;
  } as typeof process.stdout.write;
  stack = await startTestStack({ consumerRuntime: "worker" });
});
afterAll(async () => {
  await stack?.stop();
  process.stdout.write = realWrite;
});

describe("the EMF the agent writes", () => {
  it("is one JSON line per document with the namespace, each metric's name and unit, and dimension sets whose values are fields", async () => {
    const failure = new TurnFailedError(1, new TurnDeadlineError());
    const handler = withRunMetrics(async () => {
      recordTurnOutcome({ status: "completed", durationMs: 250 });
      recordTokens({ inputTokens: 120, outputTokens: 30 });
      recordFailure({ kind: "retryable", reason: failure.message, silent: false }, failure);
      recordGiveUp(failure);
    });
    // The stack's capture is on in this file: read what reaches stdout before it.
    const raw = await stdoutOf(() => handler());
    const lines = raw.split("\n").filter((line) => line.includes('"_aws"'));
    expect(lines).toHaveLength(3);
    const documents = lines.map((line) => JSON.parse(line) as RawEmf);
    for (const document of documents) {
      const [directive] = document._aws.CloudWatchMetrics;
      expect(document._aws.CloudWatchMetrics).toHaveLength(1);
      expect(directive!.Namespace).toBe(METRICS_NAMESPACE);
      expect(Math.abs(document._aws.Timestamp - Date.now())).toBeLessThan(60_000);
      expect(document.service).toBe(AGENT_METRICS_SERVICE);
      // SST's App stage, which the local stack links as "local".
      expect(document.stage).toBe("local");
      for (const set of directive!.Dimensions) for (const key of set) expect(typeof document[key], key).toBe("string");
      for (const metric of directive!.Metrics) {
        expect(Object.values(AGENT_METRICS).find((known) => known.name === metric.Name)?.unit, metric.Name).toBe(metric.Unit);
        expect(typeof document[metric.Name]).toBe("number");
      }
      expect(parseEmfLine(JSON.stringify(document))).toBeDefined();
    }
    const byName = (name: string) => documents.find((document) => document._aws.CloudWatchMetrics[0]!.Metrics.some((metric) => metric.Name === name))!;
    // The failure and the give-up carry their own dimensions, in their own documents.
    expect(byName("TurnFailures")._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([["service", "stage", "kind", "reason"]]);
    expect(byName("TurnFailures")).toMatchObject({ kind: "retryable", reason: "TurnDeadlineError", TurnFailures: 1 });
    expect(byName("JobsGivenUp")._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([["service", "stage", "reason"]]);
    expect(byName("TurnsCompleted")._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([["service", "stage"]]);
    expect(byName("TurnsCompleted")).toMatchObject({ TurnsCompleted: 1, TurnDuration: 250, InputTokens: 120, OutputTokens: 30 });
  });

  it("names a failure by its cause's class, even where the class leaves name as Error", () => {
    class RateLimitError extends Error {}
    expect(reasonCode(new TurnFailedError(1, new RateLimitError("429")))).toBe("RateLimitError");
    expect(reasonCode(new TurnFailedError(1, new ModelCallError("rate-limited", { status: 429, message: "slow down" })))).toBe("ModelCallError.rate-limited");
    expect(reasonCode(new TurnFailedError(2, "a string"))).toBe("NonError");
    expect(reasonCode(Object.assign(new Error("x"), { name: "Weird name: with spaces" }))).toBe("Weirdnamewithspaces");
  });

  it("writes nothing for an invocation that recorded nothing", async () => {
    expect(await stdoutOf(() => withRunMetrics(async () => undefined)())).toBe("");
  });
});

describe("the local stack's capture", () => {
  it("takes EMF lines (strings or bytes) off stdout and lets every other line through", async () => {
    const seen: EmfDocument[] = [];
    const emf = JSON.stringify({ _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: "azuchi", Dimensions: [["service"]], Metrics: [{ Name: "X", Unit: "Count" }] }] }, service: "s", X: [1, 2, 3] });
    const printed = await stdoutOf(async () => {
      const restore = captureEmfLines((document) => seen.push(document));
      try {
        process.stdout.write(`${emf}\n`);
        process.stdout.write(Buffer.from(`${emf}\n`));
        process.stdout.write(`plain line\n${emf}\n`);
        process.stdout.write('{"_aws": "not EMF"}\n');
      } finally {
        restore();
      }
    }, false);
    expect(seen).toHaveLength(3);
    expect(printed).toBe('plain line\n{"_aws": "not EMF"}\n');
    const aggregator = new MetricsAggregator(0);
    for (const document of seen) aggregator.add(document);
    expect(aggregator.snapshot()).toEqual({ since: 0, metrics: [{ name: "X", unit: "Count", dimensions: { service: "s" }, count: 9, sum: 18, min: 1, max: 3, p50: 2, p95: 3 }] });
  });

  it("catches a worker-thread consumer's lines too, and prints none of them", async () => {
    const completed = async () => {
      const body = (await (await fetch(`${stack.url}/dev/metrics`)).json()) as { metrics: { name: string; count: number }[] };
      return body.metrics.find((metric) => metric.name === AGENT_METRICS.turnsCompleted.name)?.count ?? 0;
    };
    // The first test's in-process record is counted already.
    const before = await completed();
    const tab = await stack.connect("dave");
    const from = passedThrough.length;
    const emitted = await stdoutOf(async () => {
      tab.send({ action: "putMessage", message: "hello from a worker", clientMessageId: crypto.randomUUID() });
      await tab.waitFor(isAgentReply);
      await expect.poll(completed, { timeout: 20_000, interval: 50 }).toBe(before + 1);
    });
    await tab.close();
    // Both services wrote EMF (the chat in process, the agent from its worker); none was printed.
    expect(emitted).toContain('"MessagesAccepted"');
    expect(emitted).toContain('"TurnsCompleted"');
    expect(passedThrough.slice(from).join("")).not.toContain('"_aws"');
  });
});

import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import type { EventBridgeEvent } from "aws-lambda";
import { afterEach, describe, expect, it } from "vitest";
import {
  matchesEventPattern,
  startEventBridge,
  UnknownEventBusError,
  type EventBridgeEmulator,
  type EventBridgeOptions,
  type EventPattern,
} from "../../packages/local/src/eventbridge/index.ts";

type Event = EventBridgeEvent<string, unknown>;

const event = (detail: object, extra: object = {}) => ({
  version: "0",
  id: "1",
  "detail-type": "MessagePosted",
  source: "azuchi.chat",
  account: "000000000000",
  time: "2026-11-01T00:00:00Z",
  region: "us-east-1",
  resources: [],
  detail,
  ...extra,
});

const matches = (pattern: EventPattern, detail: object) => matchesEventPattern({ detail: pattern }, event(detail));

describe("event patterns", () => {
  it("matches exact strings, numbers, booleans and null listed in an array", () => {
    expect(matchesEventPattern({ source: ["azuchi.agent", "azuchi.chat"] }, event({}))).toBe(true);
    expect(matchesEventPattern({ source: ["azuchi.agent"] }, event({}))).toBe(false);
    expect(matches({ n: [5] }, { n: 5 })).toBe(true);
    expect(matches({ n: [5] }, { n: "5" })).toBe(false);
    expect(matches({ ok: [true] }, { ok: true })).toBe(true);
    expect(matches({ ok: [true] }, { ok: false })).toBe(false);
    expect(matches({ v: [null] }, { v: null })).toBe(true);
    expect(matches({ v: [null] }, {})).toBe(false);
  });

  it("matches an array in the event when any of its values matches", () => {
    expect(matches({ tags: ["b"] }, { tags: ["a", "b"] })).toBe(true);
    expect(matches({ tags: ["c"] }, { tags: ["a", "b"] })).toBe(false);
    expect(matches({ items: { id: [2] } }, { items: [{ id: 1 }, { id: 2 }] })).toBe(true);
  });

  it("requires every field of the pattern to match", () => {
    const pattern: EventPattern = { source: ["azuchi.chat"], "detail-type": ["AgentRunFailed"] };
    expect(matchesEventPattern(pattern, event({}))).toBe(false);
    expect(matchesEventPattern(pattern, event({}, { "detail-type": "AgentRunFailed" }))).toBe(true);
  });

  it("matches prefix and suffix, and either ignoring case", () => {
    expect(matchesEventPattern({ source: [{ prefix: "azuchi." }] }, event({}))).toBe(true);
    expect(matchesEventPattern({ source: [{ prefix: "other." }] }, event({}))).toBe(false);
    expect(matches({ file: [{ suffix: ".png" }] }, { file: "a.png" })).toBe(true);
    expect(matches({ file: [{ suffix: ".png" }] }, { file: "a.jpg" })).toBe(false);
    expect(matches({ file: [{ suffix: { "equals-ignore-case": ".PNG" } }] }, { file: "a.png" })).toBe(true);
    expect(matches({ name: [{ prefix: { "equals-ignore-case": "AZU" } }] }, { name: "azuchi" })).toBe(true);
    expect(matches({ name: [{ "equals-ignore-case": "AZUCHI" }] }, { name: "Azuchi" })).toBe(true);
    expect(matches({ n: [{ prefix: "1" }] }, { n: 12 })).toBe(false);
  });

  it("matches anything-but a value, a list of values or a prefix, and never a missing field", () => {
    expect(matches({ state: [{ "anything-but": "stopped" }] }, { state: "running" })).toBe(true);
    expect(matches({ state: [{ "anything-but": "stopped" }] }, { state: "stopped" })).toBe(false);
    expect(matches({ state: [{ "anything-but": ["stopped", "failed"] }] }, { state: "failed" })).toBe(false);
    expect(matches({ state: [{ "anything-but": ["stopped", "failed"] }] }, { state: "done" })).toBe(true);
    expect(matches({ code: [{ "anything-but": [404, 500] }] }, { code: 200 })).toBe(true);
    expect(matches({ id: [{ "anything-but": { prefix: "test-" } }] }, { id: "test-1" })).toBe(false);
    expect(matches({ id: [{ "anything-but": { prefix: "test-" } }] }, { id: "prod-1" })).toBe(true);
    expect(matches({ state: [{ "anything-but": "stopped" }] }, {})).toBe(false);
  });

  it("matches exists: true on a present field and exists: false on a missing one", () => {
    expect(matches({ jobId: [{ exists: true }] }, { jobId: "j1" })).toBe(true);
    expect(matches({ jobId: [{ exists: true }] }, {})).toBe(false);
    expect(matches({ jobId: [{ exists: false }] }, {})).toBe(true);
    expect(matches({ jobId: [{ exists: false }] }, { jobId: "j1" })).toBe(false);
    expect(matches({ usage: { tokens: [{ exists: false }] } }, {})).toBe(true);
    expect(matches({ usage: [{ exists: true }] }, { usage: { tokens: 1 } })).toBe(false); // exists looks at leaves only
  });

  it("matches numeric comparisons and ranges on numbers only", () => {
    expect(matches({ attempt: [{ numeric: [">", 2] }] }, { attempt: 3 })).toBe(true);
    expect(matches({ attempt: [{ numeric: [">", 2] }] }, { attempt: 2 })).toBe(false);
    expect(matches({ attempt: [{ numeric: ["=", 2] }] }, { attempt: 2 })).toBe(true);
    expect(matches({ ms: [{ numeric: [">=", 0, "<", 100] }] }, { ms: 99.5 })).toBe(true);
    expect(matches({ ms: [{ numeric: [">=", 0, "<", 100] }] }, { ms: 100 })).toBe(false);
    expect(matches({ ms: [{ numeric: ["<=", 5] }] }, { ms: "3" })).toBe(false);
  });

  it("descends into nested objects", () => {
    expect(matches({ usage: { outputTokens: [{ numeric: [">", 10] }] } }, { usage: { outputTokens: 11 } })).toBe(true);
    expect(matches({ usage: { outputTokens: [11] } }, { usage: 11 })).toBe(false);
  });

  it("matches $or when any alternative matches", () => {
    const pattern: EventPattern = { detail: { $or: [{ final: [true] }, { attempt: [{ numeric: [">=", 3] }] }] } };
    expect(matchesEventPattern(pattern, event({ final: true, attempt: 1 }))).toBe(true);
    expect(matchesEventPattern(pattern, event({ final: false, attempt: 3 }))).toBe(true);
    expect(matchesEventPattern(pattern, event({ final: false, attempt: 1 }))).toBe(false);
  });
});

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function start(options: EventBridgeOptions = {}): Promise<{ bus: EventBridgeEmulator; client: EventBridgeClient; errors: [unknown, Event][] }> {
  const errors: [unknown, Event][] = [];
  const bus = await startEventBridge({ retryBaseDelayMs: 10, onError: (error, e) => errors.push([error, e]), ...options });
  const client = new EventBridgeClient({ endpoint: bus.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  stops.push(async () => (client.destroy(), await bus.close()));
  return { bus, client, errors };
}

/** A target that records what it receives. */
function recording() {
  const received: Event[] = [];
  return { received, target: async (e: Event) => void received.push(e) };
}

const entry = (detail: object = { sessionId: "s1" }, extra: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry => ({
  Source: "azuchi.chat",
  DetailType: "MessagePosted",
  Detail: JSON.stringify(detail),
  ...extra,
});

describe("EventBridge PutEvents (real SDK client)", () => {
  it("delivers to every rule whose pattern matches, without PutEvents waiting for the targets, in EventBridge's event shape", async () => {
    const chat = recording();
    const posted = recording();
    const agent = recording();
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const { bus, client, errors } = await start({
      rules: [
        // This target cannot finish before PutEvents has answered: delivery is asynchronous.
        { name: "chat", eventBusName: "default", pattern: { source: ["azuchi.chat"] }, target: async (e) => (await answered, chat.target(e)) },
        { name: "posted", eventBusName: "default", pattern: { "detail-type": ["MessagePosted"] }, target: posted.target },
        { name: "agent", eventBusName: "default", pattern: { source: ["azuchi.ai-agent"] }, target: agent.target },
      ],
    });
    const output = await client.send(new PutEventsCommand({ Entries: [entry({ sessionId: "s1", n: 1 })] }));
    answer();
    await bus.idle();
    expect(errors).toEqual([]);
    expect(output.FailedEntryCount).toBe(0);
    expect(chat.received).toHaveLength(1);
    expect(posted.received).toHaveLength(1);
    expect(agent.received).toHaveLength(0);
    const [delivered] = chat.received;
    expect(delivered).toEqual({
      version: "0",
      id: output.Entries?.[0]?.EventId,
      "detail-type": "MessagePosted",
      source: "azuchi.chat",
      account: "000000000000",
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: "us-east-1",
      resources: [],
      detail: { sessionId: "s1", n: 1 },
    });
  });

  it("holds the matching PutEvents calls unanswered and unapplied while a hold lasts, drops them when their caller goes, and lets the others pass", async () => {
    const all = recording();
    const { bus, client } = await start({ rules: [{ name: "all", eventBusName: "default", pattern: { source: [{ prefix: "" }] }, target: all.target }] });
    const hold = { mode: "hold", source: "azuchi.ai-agent", detailType: "AgentRunCompleted", requests: 1 } as const;
    expect(bus.fault(hold)).toEqual({ fault: hold, held: 0, failed: 0, open: 0 });
    // The caller that dies: its own client, destroyed (its socket closed) while its call is held.
    const dying = new EventBridgeClient({ endpoint: bus.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });
    const heldCall = dying.send(new PutEventsCommand({ Entries: [entry({ n: 1 }, { Source: "azuchi.ai-agent" }), entry({ n: 2 }, { Source: "azuchi.ai-agent", DetailType: "AgentRunCompleted" })] }));
    heldCall.catch(() => undefined);
    await expect.poll(() => bus.faults().open).toBe(1);
    // Another source's call, and the same source's without the detail type, pass meanwhile.
    await client.send(new PutEventsCommand({ Entries: [entry({ n: 3 }), entry({ n: 4 }, { Source: "azuchi.ai-agent" })] }));
    await bus.idle();
    expect(all.received.map((e) => (e.detail as { n: number }).n)).toEqual([3, 4]);
    dying.destroy();
    await expect.poll(() => bus.faults()).toEqual({ fault: { ...hold, requests: 0 }, held: 1, failed: 0, open: 0 });
    // Its requests spent, the fault lets the next such call through; the held one was never applied.
    await client.send(new PutEventsCommand({ Entries: [entry({ n: 5 }, { Source: "azuchi.ai-agent", DetailType: "AgentRunCompleted" })] }));
    await bus.idle();
    expect(all.received.map((e) => (e.detail as { n: number }).n)).toEqual([3, 4, 5]);
    expect(bus.fault(null)).toEqual({ fault: null, held: 0, failed: 0, open: 0 });
    expect(() => bus.fault({ mode: "hold", requests: -1 })).toThrow(RangeError);
  });

  it("fails the matching PutEvents requests with 500 InternalException, applying nothing, which the SDK retries", async () => {
    const all = recording();
    const { bus, client } = await start({ rules: [{ name: "all", eventBusName: "default", pattern: { source: [{ prefix: "" }] }, target: all.target }] });
    // Two requests: the SDK's first attempt and its first retry fail; its third attempt passes.
    bus.fault({ mode: "fail", source: "azuchi.ai-agent", requests: 2 });
    const output = await client.send(new PutEventsCommand({ Entries: [entry({ n: 1 }, { Source: "azuchi.ai-agent" })] }));
    expect(output.FailedEntryCount).toBe(0);
    expect(output.$metadata.attempts).toBe(3);
    // Past the SDK's attempts, the call fails with EventBridge's error.
    bus.fault({ mode: "fail", requests: 3 });
    await expect(client.send(new PutEventsCommand({ Entries: [entry({ n: 2 })] }))).rejects.toMatchObject({ name: "InternalException", $metadata: { httpStatusCode: 500 } });
    await bus.idle();
    expect(all.received.map((e) => (e.detail as { n: number }).n)).toEqual([1]);
    expect(bus.faults()).toEqual({ fault: { mode: "fail", requests: 0 }, held: 0, failed: 3, open: 0 });
  });

  it("reports each bad entry in its place, counts it in FailedEntryCount and accepts the others", async () => {
    const all = recording();
    const { bus, client } = await start({ rules: [{ name: "all", eventBusName: "default", pattern: { source: [{ prefix: "" }] }, target: all.target }] });
    const output = await client.send(
      new PutEventsCommand({
        Entries: [entry(), { DetailType: "X", Detail: "{}" }, { Source: "s", Detail: "{}" }, { Source: "s", DetailType: "X" }, entry({}, { Detail: "not json" }), entry({}, { Detail: "[1]" }), entry({ n: 2 })],
      }),
    );
    await bus.idle();
    expect(output.FailedEntryCount).toBe(5);
    const results = output.Entries ?? [];
    expect(results[0]?.EventId).toBeDefined();
    expect(results[1]).toEqual({ ErrorCode: "InvalidArgument", ErrorMessage: "Parameter Source is not valid. Reason: Source is a required argument." });
    expect(results[2]).toMatchObject({ ErrorCode: "InvalidArgument", ErrorMessage: expect.stringContaining("DetailType") });
    expect(results[3]).toMatchObject({ ErrorCode: "InvalidArgument", ErrorMessage: expect.stringContaining("Detail is a required argument") });
    expect(results[4]).toEqual({ ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." });
    expect(results[5]).toEqual({ ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." });
    expect(results[6]?.EventId).toBeDefined();
    expect(all.received.map((e) => e.detail)).toEqual([{ sessionId: "s1" }, { n: 2 }]);
  });

  it("rejects the whole call with a ValidationException for more than 10 entries", async () => {
    const all = recording();
    const { bus, client } = await start({ rules: [{ name: "all", eventBusName: "default", pattern: { source: ["azuchi.chat"] }, target: all.target }] });
    const error = await client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry()) })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ValidationException", $metadata: { httpStatusCode: 400 } });
    expect(String((error as Error).message)).toContain("less than or equal to 10");
    await bus.idle();
    expect(all.received).toHaveLength(0);
  });

  it("rejects the whole call with a ValidationException when its entries exceed 256 KB", async () => {
    const { client } = await start();
    const big = entry({ text: "x".repeat(130 * 1024) });
    const error = await client.send(new PutEventsCommand({ Entries: [big, big] })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ValidationException", message: "Total size of the entries in the request is over the limit." });
  });

  it("retries a target that fails once, and delivers the event again", async () => {
    let calls = 0;
    const { bus, client, errors } = await start({
      rules: [{ name: "flaky", eventBusName: "default", pattern: { source: ["azuchi.chat"] }, target: async () => { if (++calls === 1) throw new Error("cold start"); } }],
    });
    await client.send(new PutEventsCommand({ Entries: [entry()] }));
    await bus.idle();
    expect(calls).toBe(2);
    expect(errors).toHaveLength(0);
  });

  it("reports a target that still fails after maxAttempts through onError", async () => {
    let calls = 0;
    const { bus, client, errors } = await start({
      maxAttempts: 2,
      rules: [{ name: "broken", eventBusName: "default", pattern: { source: ["azuchi.chat"] }, target: async () => { calls++; throw new Error("down"); } }],
    });
    await client.send(new PutEventsCommand({ Entries: [entry()] }));
    await bus.idle();
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
    expect(String(errors[0]?.[0])).toContain("rule broken: delivery failed after 2 attempt(s): down");
    expect(errors[0]?.[1].source).toBe("azuchi.chat");
  });

  it("delivers to the rules of the bus named by EventBusName, given as a name or an ARN", async () => {
    const onDefault = recording();
    const onCustom = recording();
    const { bus, client } = await start({
      buses: ["azuchi"],
      rules: [
        { name: "default-rule", eventBusName: "default", pattern: { source: ["azuchi.chat"] }, target: onDefault.target },
        { name: "custom-rule", eventBusName: "azuchi", pattern: { source: ["azuchi.chat"] }, target: onCustom.target },
      ],
    });
    await client.send(new PutEventsCommand({ Entries: [entry({ n: 1 }, { EventBusName: "azuchi" }), entry({ n: 2 }, { EventBusName: "arn:aws:events:us-east-1:000000000000:event-bus/azuchi" }), entry({ n: 3 })] }));
    await bus.idle();
    expect(onCustom.received.map((e) => e.detail)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(onDefault.received.map((e) => e.detail)).toEqual([{ n: 3 }]);
  });

  it("accepts an event for a bus that does not exist and delivers it nowhere, as EventBridge does, reporting it locally", async () => {
    const all = recording();
    const { bus, client, errors } = await start({ rules: [{ name: "all", eventBusName: "default", pattern: { source: ["azuchi.chat"] }, target: all.target }] });
    const output = await client.send(new PutEventsCommand({ Entries: [entry({}, { EventBusName: "missing" })] }));
    await bus.idle();
    expect(output.FailedEntryCount).toBe(0);
    expect(output.Entries?.[0]?.EventId).toBeDefined();
    expect(all.received).toHaveLength(0);
    expect(errors[0]?.[0]).toBeInstanceOf(UnknownEventBusError);
  });

  it("uses the entry's Time, without milliseconds, and its Resources", async () => {
    const all = recording();
    const { bus, client } = await start({ rules: [{ name: "all", eventBusName: "default", pattern: { source: ["azuchi.chat"] }, target: all.target }] });
    await client.send(new PutEventsCommand({ Entries: [entry({}, { Time: new Date("2026-11-02T03:04:05.678Z"), Resources: ["arn:aws:x"] })] }));
    await bus.idle();
    expect(all.received[0]).toMatchObject({ time: "2026-11-02T03:04:05Z", resources: ["arn:aws:x"] });
  });

  it("refuses a rule with a filter it does not support, or on a bus that does not exist", async () => {
    const { bus } = await start();
    const target = async () => undefined;
    expect(() => bus.addRule({ name: "r", eventBusName: "default", pattern: { source: [{ wildcard: "a*" } as never] }, target })).toThrow(/unsupported filter/);
    expect(() => bus.addRule({ name: "r", eventBusName: "nope", pattern: { source: ["a"] }, target })).toThrow(/does not exist/);
  });

  it("close() stops promptly, abandoning retries still waiting and reporting them", async () => {
    const { bus, client, errors } = await start({
      retryBaseDelayMs: 60_000,
      rules: [{ name: "broken", eventBusName: "default", pattern: { source: ["azuchi.chat"] }, target: async () => { throw new Error("down"); } }],
    });
    await client.send(new PutEventsCommand({ Entries: [entry()] }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await bus.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(String(errors[0]?.[0])).toContain("closed before the next retry");
  });
});

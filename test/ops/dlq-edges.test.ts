import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SQSClient} from "@aws-sdk/client-sqs";
import {
  ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand,
  type Message, type MessageAttributeValue,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentJob } from "@azuchi/core";
import type { SqsEmulator } from "@azuchi/local/sqs";
import { regionOfQueueUrl, resolveTarget } from "../../packages/ops/src/target.ts";
import { emulatorEnv, spawnOps, startEmulatorAndClient, stopEmulatorAndClient, testJob as job, type OpsRun } from "../support/ops-cli.ts";

// The edges of reading a FIFO dead-letter queue: letters SQS holds back behind their session's
// first ones (a dry run, a --job, a show), a batch of only kept letters after a failed send, short
// polls that answer nothing, an import whose one session fails, a job moved by the redrive policy,
// and the target's FIFO check and region. The CLI runs as a child against the emulator, the SDK
// pointed at it with AWS_ENDPOINT_URL_SQS as on AWS it would be at SQS.
const dir = mkdtempSync(join(tmpdir(), "azuchi-ops-edges-"));
let emulator: SqsEmulator;
let sqs: SQSClient;
let n = 0;

beforeAll(async () => ({ emulator, sqs } = await startEmulatorAndClient()));
afterAll(async () => {
  await stopEmulatorAndClient(emulator, sqs);
  rmSync(dir, { recursive: true, force: true });
});

interface Queues {
  jobs: string;
  dlq: string;
}

async function queues(jobsAttributes: Record<string, string> = {}): Promise<Queues> {
  const id = ++n;
  const { QueueUrl: dlq = "" } = await sqs.send(new CreateQueueCommand({ QueueName: `edges-dlq-${id}.fifo`, Attributes: { FifoQueue: "true" } }));
  const { QueueUrl: jobs = "" } = await sqs.send(new CreateQueueCommand({ QueueName: `edges-jobs-${id}.fifo`, Attributes: { FifoQueue: "true", ...jobsAttributes } }));
  return { jobs, dlq };
}

type Run = OpsRun;

function ops(q: Queues, args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return spawnOps([...args, "--queue-url", q.jobs, "--dlq-url", q.dlq], { ...emulatorEnv(emulator.endpoint), ...env }).done;
}

const given = { reason: { DataType: "String", StringValue: "model down" } };

async function deadLetter(q: Queues, jobs: AgentJob[], attributes: Record<string, MessageAttributeValue> = given) {
  for (const j of jobs) {
    await sqs.send(new SendMessageCommand({ QueueUrl: q.dlq, MessageBody: JSON.stringify(j), MessageGroupId: j.sessionId, MessageDeduplicationId: j.jobId, MessageAttributes: attributes }));
  }
}

async function depth(url: string) {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }));
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

/** Everything on a queue, deleted as read (so FIFO hands out each group whole). */
async function drain(url: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"] }));
    if (Messages.length === 0) return all;
    all.push(...Messages);
    for (const m of Messages) await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
  }
}

const messagesOf = (received: Message[]) => received.map((m) => (JSON.parse(m.Body!) as AgentJob).message);

describe("letters SQS FIFO holds back behind their session's first ones", () => {
  it("a dry run counts them and says so; show and replay --job of a letter behind them say it was not seen and exit 1", async () => {
    const q = await queues();
    const session = randomUUID();
    const letters = Array.from({ length: 15 }, (_, i) => job(session, `m${i + 1}`));
    await deadLetter(q, letters);

    const dry = await ops(q, ["dlq", "replay", "--session", session, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would replay at least 10 dead letter/);
    expect(dry.stderr).toMatch(/5 more dead letter\(s\) are held back by SQS FIFO/);
    const dryJson = JSON.parse((await ops(q, ["dlq", "replay", "--session", session, "--dry-run", "--json"])).stdout) as { wouldReplay: unknown[]; heldBack: number };
    expect(dryJson).toMatchObject({ heldBack: 5 });
    expect(dryJson.wouldReplay).toHaveLength(10);

    const twelfth = letters[11]!.jobId;
    const show = await ops(q, ["dlq", "show", twelfth]);
    expect(show.code).toBe(1);
    expect(show.stderr).toMatch(/not among the 10 dead letter\(s\) SQS handed out; 5 more .* held back .* it may be one of them/);

    const one = await ops(q, ["dlq", "replay", "--job", twelfth, "--yes"]);
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(new RegExp(`job ${twelfth} was not seen: .*held back behind earlier letters of its session`));
    expect(await depth(q.dlq)).toBe(15);

    // The first one replayed: of the 14 left, 9 were seen and kept, 5 held back unseen behind them.
    const first = await ops(q, ["dlq", "replay", "--job", letters[0]!.jobId, "--yes"]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/replayed 1 dead letter\(s\) of 1 session\(s\) to AgentJobs; at least 9 left/);
    expect(await depth(q.dlq)).toBe(14);
    expect(messagesOf(await drain(q.jobs))).toEqual(["m1"]);
  }, 60_000);

  it("a batch of only kept letters after a failed send does not end the replay: the sessions behind it are replayed", async () => {
    // AgentJobs takes at most 1 KiB: the bad session's letter cannot be sent back.
    const q = await queues({ MaximumMessageSize: "1024" });
    const [bad, kept, keptToo, good] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    // One receive: bad's letter and kept's nine; the next: keptToo's ten, all kept; then good's.
    await deadLetter(q, [
      job(bad, "x".repeat(2000)),
      ...Array.from({ length: 9 }, (_, i) => job(kept, `k${i}`)),
      ...Array.from({ length: 10 }, (_, i) => job(keptToo, `t${i}`)),
      job(good, "good 1"),
    ]);
    const run = await ops(q, ["dlq", "replay", "--session", bad, "--session", good, "--yes", "--json"]);
    expect(run.code).toBe(1);
    const summary = JSON.parse(run.stdout) as { replayed: { message: string }[]; errors: string[] };
    expect(summary.errors).toHaveLength(1);
    expect(summary.replayed.map((l) => l.message)).toEqual(["good 1"]);
    expect(messagesOf(await drain(q.jobs))).toEqual(["good 1"]);
    expect(await depth(q.dlq)).toBe(20);
  }, 60_000);
});

describe("short polls that answer nothing while letters are there", () => {
  let proxy: Server;
  let proxyUrl: string;
  beforeAll(async () => {
    // SQS's short poll asks a sample of its servers and may answer nothing while messages wait;
    // a long poll asks them all. This proxy answers every short poll empty, as an unlucky sample.
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        if (req.headers["x-amz-target"] === "AmazonSQS.ReceiveMessage" && !((JSON.parse(body.toString()) as { WaitTimeSeconds?: number }).WaitTimeSeconds! > 0)) {
          res.writeHead(200, { "content-type": "application/x-amz-json-1.0" }).end("{}");
          return;
        }
        const upstream = new URL(emulator.endpoint);
        const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        });
        forward.end(body);
      });
    });
    await new Promise<void>((done) => proxy.listen(0, "127.0.0.1", done));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((done) => proxy.close(() => done())));

  it("list still reads every letter", async () => {
    const q = await queues();
    await deadLetter(q, [job(randomUUID(), "a1"), job(randomUUID(), "b1"), job(randomUUID(), "c1")]);
    // The SDK sends to the queue URL's host: the URLs name the proxy.
    const viaProxy = (url: string) => url.replace(/^https?:\/\/[^/]+/, proxyUrl);
    const list = await ops({ jobs: viaProxy(q.jobs), dlq: viaProxy(q.dlq) }, ["dlq", "list"], { AWS_ENDPOINT_URL_SQS: proxyUrl });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("3 of 3 dead letter(s)");
  }, 30_000);
});

describe("dlq import", () => {
  it("a failed send stops only its session; every session is reported, with --json, and the others are sent whole", async () => {
    const q = await queues({ MaximumMessageSize: "1024" });
    const [bad, good] = [randomUUID(), randomUUID()];
    const lines = [job(bad, "y".repeat(2000)), job(bad, "bad 2"), job(good, "good 1"), job(good, "good 2"), job(good, "good 3")].map((j, i) => JSON.stringify({
      v: 1, messageId: randomUUID(), groupId: j.sessionId, body: JSON.stringify(j), messageAttributes: given, systemAttributes: { SentTimestamp: String(Date.now() - i) }, exportedAt: new Date().toISOString(),
    }));
    const file = join(dir, `import-${n}.jsonl`);
    writeFileSync(file, `${lines.join("\n")}\n`);
    const dry = JSON.parse((await ops(q, ["dlq", "import", file, "--dry-run", "--json"])).stdout) as { wouldSend: unknown[] };
    expect(dry.wouldSend).toHaveLength(5);
    const run = await ops(q, ["dlq", "import", file, "--yes", "--json"]);
    expect(run.code).toBe(1);
    const summary = JSON.parse(run.stdout) as { imported: number; sessions: { sessionId: string; sent: { sentMessageId: string | null }[]; notSent: number; error: string | null }[] };
    expect(summary.imported).toBe(3);
    const of = (id: string) => summary.sessions.find((s) => s.sessionId === id)!;
    expect(of(good)).toMatchObject({ notSent: 0, error: null });
    expect(of(good).sent.every((s) => typeof s.sentMessageId === "string")).toBe(true);
    expect(of(bad)).toMatchObject({ sent: [], notSent: 2, error: expect.stringMatching(/SendMessage/) });
    expect(messagesOf(await drain(q.jobs))).toEqual(["good 1", "good 2", "good 3"]);
    const text = await ops(q, ["dlq", "import", file, "--yes"]);
    expect(text.stdout).toMatch(/1 session\(s\) stopped at a failed send/);
    expect(text.stderr).toMatch(new RegExp(`error: session ${bad}: `));
  }, 30_000);
});

describe("a job moved by the redrive policy", () => {
  it("is read as what SQS knows: no reason from the agent, SQS's receives, its send as the last time known; a replay carries the move in its history", async () => {
    const q0 = await queues();
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q0.dlq, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    const { QueueUrl: jobs = "" } = await sqs.send(new CreateQueueCommand({
      QueueName: `edges-policy-${n}.fifo`,
      Attributes: { FifoQueue: "true", RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }) },
    }));
    const q = { jobs, dlq: q0.dlq };
    // A job replayed once already (its earlier give-up in its history), then never answered: two
    // receives crashed, and the third receive moves it.
    const earlier = { at: Date.now() - 3_600_000, reason: "model down", attempts: 3, receives: 5 };
    const j = job(randomUUID(), "crashy");
    const sentAt = Date.now();
    await sqs.send(new SendMessageCommand({
      QueueUrl: jobs, MessageBody: JSON.stringify(j), MessageGroupId: j.sessionId, MessageDeduplicationId: `replay-${randomUUID()}`,
      MessageAttributes: { failureHistory: { DataType: "String", StringValue: JSON.stringify([earlier]) }, replayOf: { DataType: "String", StringValue: randomUUID() } },
    }));
    for (let i = 0; i < 2; i++) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: jobs, VisibilityTimeout: 60 }));
      expect(Messages).toHaveLength(1);
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: jobs, ReceiptHandle: Messages[0]!.ReceiptHandle, VisibilityTimeout: 0 }));
    }
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: jobs }))).Messages ?? []).toEqual([]);
    expect(await depth(q.dlq)).toBe(1);

    const show = await ops(q, ["dlq", "show", j.jobId, "--json"]);
    expect(show.code).toBe(0);
    const letter = JSON.parse(show.stdout) as { movedBy: string; reason: string; receiveCount: number; lastFailedAt: string; history: unknown[] };
    expect(letter.movedBy).toBe("redrive-policy");
    expect(letter.reason).toMatch(/^no reason recorded by the agent/);
    expect(letter.receiveCount).toBe(2);
    expect(Date.parse(letter.lastFailedAt)).toBeGreaterThanOrEqual(sentAt - 1000);
    expect(letter.history).toHaveLength(1);

    const replay = await ops(q, ["dlq", "replay", "--all", "--yes"]);
    expect(replay.code).toBe(0);
    const [back] = await drain(jobs);
    const history = JSON.parse(back!.MessageAttributes!.failureHistory!.StringValue!) as { reason: string; receives: number; attempts?: number }[];
    // No attempts invented for the move: the agent counted none.
    expect(history[1]!.attempts).toBeUndefined();
    expect(history.map((h) => h.reason)).toEqual(["model down", expect.stringMatching(/^no reason recorded by the agent/)]);
    // SQS counts every read of the dead-letter queue too (show, then this replay): approximate.
    expect(history[1]!.receives).toBeGreaterThanOrEqual(2);
  }, 30_000);
});

describe("the target", () => {
  it("refuses a jobs queue that is not FIFO before replaying anything", async () => {
    const q = await queues();
    await deadLetter(q, [job(randomUUID(), "kept")]);
    const { QueueUrl: standard = "" } = await sqs.send(new CreateQueueCommand({ QueueName: `edges-standard-${n}` }));
    for (const args of [["dlq", "replay", "--all", "--yes"], ["dlq", "redrive"]]) {
      const run = await ops({ jobs: standard, dlq: q.dlq }, args);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/edges-standard-\d+ is not a FIFO queue/);
    }
    expect(await depth(q.dlq)).toBe(1);
    expect(await depth(standard)).toBe(0);
  }, 30_000);

  it("takes the region from the queue URL when AWS_REGION is not set", async () => {
    expect(regionOfQueueUrl("https://sqs.eu-west-3.amazonaws.com/123456789012/AgentJobs.fifo")).toBe("eu-west-3");
    expect(regionOfQueueUrl("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q.fifo")).toBe("cn-north-1");
    expect(regionOfQueueUrl("https://us-west-2.queue.amazonaws.com/123456789012/q.fifo")).toBe("us-west-2");
    expect(regionOfQueueUrl("http://127.0.0.1:9324/000000000000/q.fifo")).toBeUndefined();
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION, AWS_CONFIG_FILE: process.env.AWS_CONFIG_FILE, AWS_PROFILE: process.env.AWS_PROFILE };
    // No region anywhere the SDK looks; the queues as AWS names them (nothing is sent: only the client's region is asked).
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    delete process.env.AWS_PROFILE;
    process.env.AWS_CONFIG_FILE = join(dir, "no-config");
    try {
      const target = await resolveTarget({ queueUrl: "https://sqs.eu-west-3.amazonaws.com/123456789012/AgentJobs.fifo", dlqUrl: "https://sqs.eu-west-3.amazonaws.com/123456789012/AgentJobsDlq.fifo" });
      expect(await target.sqs.config.region()).toBe("eu-west-3");
      target.sqs.destroy();
    } finally {
      for (const [name, value] of Object.entries(saved)) if (value === undefined) delete process.env[name]; else process.env[name] = value;
    }
  }, 30_000);
});

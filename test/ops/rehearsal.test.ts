import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentJob } from "@azuchi/core";
import { freePort } from "../../packages/local/src/net.ts";
import { explainSqsError } from "../../packages/ops/src/errors.ts";
import { messagesIn } from "../support/frames.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { spawnOps, unlinkedEnv, type OpsRun } from "../support/ops-cli.ts";
import type { TestClient } from "../support/ws-client.ts";

// An outage rehearsed through azuchi-ops, as an operator would run it: the model fails, the jobs
// of several sessions are given up to the dead-letter queue; the operator lists them, dry-runs,
// exports, brings the model back and replays — one session, then the rest with a replay killed
// half-way and run again — and redrives with SQS's own move task.
let stack: TestStack;
let sqs: SQSClient;
const dir = mkdtempSync(join(tmpdir(), "azuchi-ops-"));

type Run = OpsRun;

/** The CLI as a child process, as `npm run ops -- …` runs it, against the test's stack. */
function ops(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return opsChild(args, env).done;
}

function opsChild(args: string[], env: Record<string, string> = {}, target: string[] = ["--local", stack.url]) {
  // A short hold, so the letters a killed run held come back within seconds, not 30.
  return spawnOps([...args, ...target], { ...process.env, AZUCHI_OPS_HOLD_SECONDS: "2", ...env });
}

async function inFlight(url: string) {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessagesNotVisible"] }));
  return Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

async function opsJson<T>(args: string[]): Promise<T> {
  const run = await ops([...args, "--json"]);
  if (run.code !== 0) throw new Error(`azuchi-ops ${args.join(" ")} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

interface Listed {
  jobId: string;
  sessionId: string;
  userId: string;
  message: string;
  receiveCount: number;
  reason: string;
  isJob: boolean;
  firstFailedAt: string | null;
  lastFailedAt: string | null;
}

async function depth(url: string) {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }));
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible) + Number(Attributes.ApproximateNumberOfMessagesDelayed);
}

async function setModel(mode: "ok" | "fail") {
  await fetch(`${stack.url}/dev/model`, { method: "POST", body: JSON.stringify({ mode }) });
}

/** The agent's replies a tab has seen, by the USER message they answer, in arrival order. */
function answered(tab: TestClient): string[] {
  const seen = new Set<string>();
  return messagesIn(tab.frames)
    .filter((m) => m.messageType === "CONVERSATION" && m.role === "AGENT" && !seen.has(m.messageId) && seen.add(m.messageId))
    .map((m) => /\b([A-E]\d)\b/.exec(m.message)?.[1] ?? m.message);
}

/** Turns the agent ran to completion, per job (a duplicate delivery completes none). */
function completedRuns(jobId: string): number {
  return stack.recentEvents().filter((e) => e["detail-type"] === "AgentRunCompleted" && (e.detail as { jobId: string }).jobId === jobId).length;
}

const tabs: Record<string, TestClient> = {};
const sessions: Record<string, string> = {};
let letters: Listed[] = [];
const jobOf = (text: string) => letters.find((l) => l.message === text)!.jobId;
/** The MessageId AgentJobs gave each dead letter's first replay, by the dead letter's messageId. */
const firstSent = new Map<string, string>();
function noteSent(replayed: { messageId: string; sentMessageId: string | null }[]) {
  for (const l of replayed) if (l.sentMessageId && !firstSent.has(l.messageId)) firstSent.set(l.messageId, l.sentMessageId);
}

async function openSession(name: string, user: string) {
  tabs[name] = await stack.connect(user);
  sessions[name] = await stack.sessionOf(tabs[name]);
}

/** Sends the messages and waits until the agent has given each up (dead letter and notice). */
async function failAll(messages: Record<string, string[]>, total: number) {
  // Each message acked before the next is sent, as the web client's outbox does: two frames of one
  // connection in flight together may run in either order (API Gateway does not promise it), and
  // "sessions in order" means in the order their messages were stored.
  await Promise.all(
    Object.entries(messages).map(async ([name, texts]) => {
      const tab = tabs[name]!;
      for (const text of texts) {
        const clientMessageId = randomUUID();
        tab.send({ action: "putMessage", message: text, clientMessageId });
        await tab.waitFor((f) => f.type === "ack" && f.clientMessageId === clientMessageId);
      }
    }),
  );
  await expect.poll(() => depth(stack.queues.dlq), { timeout: 60_000, interval: 250 }).toBe(total);
  await expect.poll(() => depth(stack.queues.jobs), { timeout: 30_000, interval: 250 }).toBe(0);
}

beforeAll(async () => {
  // One attempt per job and no retries in the OpenAI client: a failing model gives jobs up at once.
  stack = await startTestStack({ maxAttempts: 1, environment: { AZUCHI_RETRY_BASE_SECONDS: "1", AZUCHI_OPENAI_MAX_RETRIES: "0" } });
  sqs = new SQSClient({ endpoint: stack.sqsEndpoint, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });
  await Promise.all([openSession("A", "alice"), openSession("B", "bob"), openSession("C", "carol"), openSession("D", "dave"), openSession("E", "erin")]);
});
afterAll(async () => {
  for (const tab of Object.values(tabs)) await tab.close().catch(() => undefined);
  sqs?.destroy();
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("an outage rehearsed with azuchi-ops on the local stack", () => {
  it("the model fails: the jobs of three sessions are dead-lettered, and dlq list shows each with its reason", async () => {
    await setModel("fail");
    await failAll({ A: ["A1 first", "A2 second"], B: ["B1 first", "B2 second"], C: ["C1 only"] }, 5);
    letters = await opsJson<Listed[]>(["dlq", "list"]);
    expect(letters.map((l) => l.message).sort()).toEqual(["A1 first", "A2 second", "B1 first", "B2 second", "C1 only"]);
    for (const letter of letters) {
      expect(letter).toMatchObject({ isJob: true, receiveCount: 1, reason: expect.stringMatching(/500|InternalServerError|server error/i) });
      expect(letter.sessionId).toBe(sessions[letter.message[0]!]);
      expect(letter.firstFailedAt).not.toBeNull();
      expect(letter.lastFailedAt).not.toBeNull();
    }
    // Filters, and the human table.
    const onlyA = await opsJson<Listed[]>(["dlq", "list", "--session", sessions.A!]);
    expect(onlyA.map((l) => l.message)).toEqual(["A1 first", "A2 second"]);
    expect((await opsJson<Listed[]>(["dlq", "list", "--user", "bob", "--limit", "1"])).map((l) => l.message)).toEqual(["B1 first"]);
    expect(await opsJson<Listed[]>(["dlq", "list", "--reason", "no such reason"])).toEqual([]);
    const table = await ops(["dlq", "list"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/JOB\s+SESSION\s+USER\s+MESSAGE/);
    expect(table.stdout).toContain("5 of 5 dead letter(s)");
    // Listing took nothing away.
    expect(await depth(stack.queues.dlq)).toBe(5);
  }, 90_000);

  it("dlq show prints a dead letter whole, with its failure history; status shows the queues and the failures", async () => {
    const show = await opsJson<{ jobId: string; history: { reason: string; receives: number }[]; body: string }>(["dlq", "show", jobOf("A1 first")]);
    expect(show.jobId).toBe(jobOf("A1 first"));
    expect(show.history).toHaveLength(1);
    expect(show.history[0]).toMatchObject({ receives: 1, reason: expect.stringMatching(/500|error/i) });
    expect((JSON.parse(show.body) as AgentJob).message).toBe("A1 first");
    const text = await ops(["dlq", "show", jobOf("A1 first")]);
    expect(text.stdout).toContain("failure history:");
    expect((await ops(["dlq", "show", "no-such-job"])).stderr).toMatch(/no dead letter for job no-such-job/);

    const status = await opsJson<{ jobs: { depth: number }; dlq: { depth: number; oldestDeadLetterAt: string | null }; lastFailures: { reason: string }[]; metrics: unknown }>(["status"]);
    expect(status.jobs.depth).toBe(0);
    expect(status.dlq.depth).toBe(5);
    expect(status.dlq.oldestDeadLetterAt).not.toBeNull();
    expect(status.lastFailures.length).toBeGreaterThanOrEqual(5);
    const human = await ops(["status"]);
    expect(human.stdout).toMatch(/AgentJobsDlq\s+5/);
    // GET /dev/metrics (another part of the stack) either answers or is said to be missing.
    expect(human.stdout).toMatch(/metrics(: not available from this target| since)/);
  }, 30_000);

  it("a dry run changes nothing; an export writes every dead letter", async () => {
    const dry = await opsJson<{ wouldReplay: Listed[] }>(["dlq", "replay", "--all", "--dry-run"]);
    expect(dry.wouldReplay).toHaveLength(5);
    expect(await depth(stack.queues.dlq)).toBe(5);
    expect(await depth(stack.queues.jobs)).toBe(0);

    const file = join(dir, "backup.jsonl");
    const exported = await ops(["dlq", "export", "--out", file]);
    expect(exported.code).toBe(0);
    const lines = readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { body: string; groupId: string });
    expect(lines.map((l) => (JSON.parse(l.body) as AgentJob).message).sort()).toEqual(letters.map((l) => l.message).sort());
    expect(await depth(stack.queues.dlq)).toBe(5);
    // An export never overwrites a backup.
    expect((await ops(["dlq", "export", "--out", file])).stderr).toMatch(/exists/);
  }, 30_000);

  it("the model back, replaying one session answers only its messages, in order", async () => {
    await setModel("ok");
    const run = await opsJson<{ replayed: (Listed & { messageId: string; sentMessageId: string | null })[] }>(["dlq", "replay", "--session", sessions.A!, "--yes"]);
    expect(run.replayed.map((l) => l.message)).toEqual(["A1 first", "A2 second"]);
    noteSent(run.replayed);
    await expect.poll(() => answered(tabs.A!), { timeout: 30_000 }).toEqual(["A1", "A2"]);
    await expect.poll(() => depth(stack.queues.jobs), { timeout: 10_000 }).toBe(0);
    expect(answered(tabs.B!)).toEqual([]);
    expect(answered(tabs.C!)).toEqual([]);
    expect((await opsJson<Listed[]>(["dlq", "list"])).map((l) => l.message).sort()).toEqual(["B1 first", "B2 second", "C1 only"]);
  }, 60_000);

  it("Ctrl-C stops a replay after the sends under way and hands the letters it held back at once", async () => {
    const { child, done } = opsChild(["dlq", "replay", "--all", "--yes", "--rate", "1", "--json"]);
    // The first letter replayed (sent, then deleted): interrupt before the next.
    await expect.poll(() => depth(stack.queues.dlq), { timeout: 20_000, interval: 50 }).toBeLessThan(3);
    child.kill("SIGINT");
    const run = await done;
    expect(run.code).toBe(130);
    const summary = JSON.parse(run.stdout) as { interrupted: boolean; replayed: { messageId: string; sentMessageId: string | null }[] };
    expect(summary.interrupted).toBe(true);
    expect(summary.replayed.length).toBeGreaterThan(0);
    noteSent(summary.replayed);
    const left = await depth(stack.queues.dlq);
    expect(left).toBeGreaterThan(0);
    // Handed back with visibility 0, not left hidden for the hold.
    expect(await inFlight(stack.queues.dlq)).toBe(0);
    await expect.poll(() => depth(stack.queues.jobs), { timeout: 20_000 }).toBe(0);
  }, 60_000);

  it("a replay killed right after a send, before its delete, and run again loses and duplicates nothing; --all empties the dead-letter queue", async () => {
    const before = await depth(stack.queues.dlq);
    const killed = await ops(["dlq", "replay", "--all", "--yes"], { AZUCHI_OPS_CRASH_AFTER_SENDS: "1" });
    expect(killed.signal).toBe("SIGKILL");
    // The letter sent is still in the dead-letter queue: nothing was deleted before the kill.
    expect(await depth(stack.queues.dlq)).toBe(before);

    const [, sentLetter, sentAs] = /crash point: sent (\S+) as (\S+)/.exec(killed.stderr) ?? [];
    expect(sentAs).toBeDefined();

    const rerun = await ops(["dlq", "replay", "--all", "--yes", "--json"]);
    expect(rerun.code).toBe(0);
    // The letters the killed run held come back after their hold; the rerun waits for them.
    const replayed = (JSON.parse(rerun.stdout) as { replayed: (Listed & { messageId: string; sentMessageId: string })[] }).replayed;
    expect(replayed).toHaveLength(before);
    // Sent again under the same deduplication id, SQS kept the first copy: AgentJobs answered with its MessageId.
    expect(replayed.find((l) => l.messageId === sentLetter)?.sentMessageId).toBe(sentAs);
    noteSent(replayed);
    expect(await depth(stack.queues.dlq)).toBe(0);
    await expect.poll(() => [answered(tabs.B!), answered(tabs.C!)], { timeout: 30_000 }).toEqual([["B1", "B2"], ["C1"]]);
    await expect.poll(() => depth(stack.queues.jobs), { timeout: 10_000 }).toBe(0);
    // The letter sent twice (killed run, rerun) went to AgentJobs once: same deduplication id.
    for (const text of ["B1 first", "B2 second", "C1 only"]) expect(completedRuns(jobOf(text))).toBe(1);
    expect(await opsJson<Listed[]>(["dlq", "list"])).toEqual([]);
  }, 90_000);

  it("a copy sent after SQS's 5-minute deduplication window is answered with nothing: the agent's completed-job record", async () => {
    const job = letters.find((l) => l.message === "C1 only")!;
    const body = JSON.parse(readFileSync(join(dir, "backup.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { body: string }).find((l) => l.body.includes("C1 only"))!.body) as AgentJob;
    // What a rerun past the window amounts to: the same job under a deduplication id AgentJobs has not seen.
    await sqs.send(new SendMessageCommand({ QueueUrl: stack.queues.jobs, MessageBody: JSON.stringify(body), MessageGroupId: body.sessionId, MessageDeduplicationId: `late-copy-${job.jobId}` }));
    await expect.poll(() => depth(stack.queues.jobs), { timeout: 10_000, interval: 100 }).toBe(0);
    expect(completedRuns(job.jobId)).toBe(1);
    expect(answered(tabs.C!)).toEqual(["C1"]);
    // And an import of the backup, within the window, sends nothing twice either: SQS answers each
    // send with the MessageId of the replay's, the copy it kept (a new one would be a second message).
    const imported = await opsJson<{ imported: number; sessions: { sent: { messageId: string; sentMessageId: string | null }[]; error: string | null }[] }>(["dlq", "import", join(dir, "backup.jsonl"), "--yes"]);
    expect(imported.imported).toBe(5);
    expect(imported.sessions).toHaveLength(3);
    const sends = imported.sessions.flatMap((session) => session.sent);
    expect(firstSent.size).toBe(5);
    expect(Object.fromEntries(sends.map((l) => [l.messageId, l.sentMessageId]))).toEqual(Object.fromEntries(firstSent));
    expect((await ops(["dlq", "import", join(dir, "backup.jsonl"), "--yes"])).stdout).toMatch(/imported 5 job\(s\) of 3 session\(s\)/);
    await expect.poll(() => depth(stack.queues.jobs), { timeout: 10_000, interval: 100 }).toBe(0);
    for (const letter of letters) expect(completedRuns(letter.jobId)).toBe(1);
  }, 30_000);

  it("dlq redrive moves the whole dead-letter queue back through StartMessageMoveTask, sessions in order", async () => {
    await setModel("fail");
    await failAll({ D: ["D1 first", "D2 second"] }, 2);
    await setModel("ok");
    const run = await opsJson<{ status: string; moved: number }>(["dlq", "redrive", "--rate", "5"]);
    expect(run).toMatchObject({ status: "COMPLETED", moved: 2 });
    await expect.poll(() => answered(tabs.D!), { timeout: 30_000 }).toEqual(["D1", "D2"]);
    expect(await depth(stack.queues.dlq)).toBe(0);
    expect((await ops(["dlq", "redrive"])).stdout).toMatch(/empty/);
    expect((await ops(["dlq", "redrive", "--cancel"])).stdout).toMatch(/no redrive task is running/);
  }, 90_000);

  it("a message that is not an azuchi job is listed as such and never replayed or lost; purge needs --yes and prints what it removed", async () => {
    await setModel("fail");
    await failAll({ E: ["E1 only"] }, 1);
    // Replayed while the model still fails, it is given up again: its history has both give-ups.
    const again = await opsJson<{ replayed: Listed[] }>(["dlq", "replay", "--session", sessions.E!, "--yes"]);
    expect(again.replayed).toHaveLength(1);
    await expect.poll(async () => (await opsJson<{ history: unknown[] }[]>(["dlq", "list"]))[0]?.history.length, { timeout: 30_000, interval: 500 }).toBe(2);
    const [twice] = await opsJson<(Listed & { history: { at: string }[] })[]>(["dlq", "list"]);
    expect(twice!.history[0]!.at < twice!.history[1]!.at).toBe(true);
    expect(twice!.firstFailedAt! < twice!.lastFailedAt!).toBe(true);
    await setModel("ok");
    await sqs.send(new SendMessageCommand({ QueueUrl: stack.queues.dlq, MessageBody: "not json at all", MessageGroupId: "junk", MessageDeduplicationId: "junk-1" }));
    const listed = await opsJson<Listed[]>(["dlq", "list"]);
    expect(listed.find((l) => !l.isJob)).toMatchObject({ reason: expect.stringContaining("not an azuchi job") });
    const run = await opsJson<{ replayed: Listed[]; notJobs: Listed[] }>(["dlq", "replay", "--all", "--yes"]);
    expect(run.replayed.map((l) => l.message)).toEqual(["E1 only"]);
    expect(run.notJobs).toHaveLength(1);
    await expect.poll(() => answered(tabs.E!), { timeout: 30_000 }).toEqual(["E1"]);
    expect(await depth(stack.queues.dlq)).toBe(1);

    const refused = await ops(["dlq", "purge"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--yes.*export/);
    expect(await depth(stack.queues.dlq)).toBe(1);
    const purged = await ops(["dlq", "purge", "--yes"]);
    expect(purged.stdout).toMatch(/removed 1 dead letter/);
    expect(await depth(stack.queues.dlq)).toBe(0);
    expect((await ops(["dlq", "list"])).stdout).toMatch(/empty/);
  }, 90_000);

  it("without --local reads the linked AgentJobs / AgentJobsDlq as the handlers do (what `sst shell` provides on AWS)", async () => {
    // The test process has the stack's SST_RESOURCE_* and AWS_ENDPOINT_URL_SQS, as a handler has.
    const { done } = opsChild(["status", "--json"], {}, []);
    const run = await done;
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as { target: { kind: string; jobsQueueUrl: string; dlqUrl: string }; dashboard: string };
    expect(status.target).toMatchObject({ kind: "aws", jobsQueueUrl: stack.queues.jobs, dlqUrl: stack.queues.dlq });
    expect(status.dashboard).toBe("azuchi-local");
    const human = await opsChild(["status"], {}, []).done;
    expect(human.stdout).toMatch(/metrics: in CloudWatch, dashboard azuchi-local/);
    // Nothing linked and no flags: told how to run it.
    const lost = await spawnOps(["dlq", "list"], unlinkedEnv()).done;
    expect(lost.code).toBe(1);
    expect(lost.stderr).toMatch(/npx sst shell --stage <stage> -- npm run ops/);
  }, 30_000);

  it("says what is wrong in one line, never with a stack trace", async () => {
    const expectClear = (run: Run, pattern: RegExp) => {
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(pattern);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    };
    expectClear(await ops(["dlq", "list", "--dlq-url", `${stack.sqsEndpoint}/000000000000/no-such-queue.fifo`]), /no such queue/);
    const { QueueUrl: standard } = await sqs.send(new CreateQueueCommand({ QueueName: "not-fifo" }));
    expectClear(await ops(["dlq", "list", "--dlq-url", standard!]), /not a FIFO queue/);
    expectClear(await ops(["dlq", "replay"]), /exactly one of --session/);
    expectClear(await ops(["dlq", "list", "--since", "yesterday"]), /--since: a duration/);
    expectClear(await ops(["dlq", "frobnicate"]), /no command "dlq frobnicate"/);
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const noStack = await spawnOps(["status", "--local", nobody]).done;
    expectClear(noStack, /no local stack answers/);
    // The stack's address as an operator types it, without http://.
    const bare = await opsChild(["status", "--json"], {}, ["--local", stack.url.replace(/^http:\/\//, "")]).done;
    expect(bare.stderr).toBe("");
    expect(bare.code).toBe(0);
    // Missing permissions name the IAM action.
    const denied = Object.assign(new Error("User is not authorized to perform: sqs:receivemessage"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
    expect(explainSqsError(denied, "ReceiveMessage", "https://sqs/q").message).toMatch(/missing permission: sqs:ReceiveMessage/);
    expect((await ops(["dlq", "replay", "--help"])).stdout).toMatch(/--dry-run/);
  }, 30_000);
});

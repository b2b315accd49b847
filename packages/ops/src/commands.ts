import { createReadStream, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { positiveIntFromEnv } from "@azuchi/core/env";
import * as z from "zod";
import { letterJson, toDeadLetter, type DeadLetter } from "./dead-letter.ts";
import { DlqReader } from "./dlq-reader.ts";
import { OpsError, UsageError } from "./errors.ts";
import { parseCount, parseDuration, parseRate, Progress, RateLimiter, table, time, truncate } from "./format.ts";
import { redrive, cancelRedrive } from "./redrive.ts";
import { replay, sendBack } from "./replay.ts";
import { status } from "./status.ts";
import { queueCounts, resolveTarget, type Target } from "./target.ts";

export interface CommandContext {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  out: (line: string) => void;
  err: (line: string) => void;
  signal: AbortSignal;
  confirm: (question: string) => Promise<boolean>;
}

/** Reading settings: a test shortens the hold so an interrupted run's letters come back soon. */
function readerOptions(ctx: CommandContext) {
  const holdSeconds = positiveIntFromEnv("AZUCHI_OPS_HOLD_SECONDS", 30);
  return {
    holdSeconds,
    waitForInFlightSeconds: holdSeconds + 5,
    onWait: (inFlight: number) => ctx.err(`waiting up to ${holdSeconds + 5}s for ${inFlight} dead letter(s) in flight (an interrupted run's, or another reader's) to come back…`),
  };
}

async function target(ctx: CommandContext): Promise<Target> {
  const local = ctx.values.local as string | undefined;
  return resolveTarget({ local, queueUrl: ctx.values["queue-url"] as string | undefined, dlqUrl: ctx.values["dlq-url"] as string | undefined });
}

async function withReader<T>(t: Target, ctx: CommandContext, run: (reader: DlqReader) => Promise<T>): Promise<T> {
  await queueCounts(t, t.dlq);
  const reader = new DlqReader(t, readerOptions(ctx));
  try {
    return await run(reader);
  } finally {
    await reader.close();
  }
}

const json = (ctx: CommandContext, value: unknown) => ctx.out(JSON.stringify(value, null, 2));

function letterRows(letters: DeadLetter[]): string[][] {
  return letters.map((l) => [
    l.jobId ?? `(not a job) ${l.messageId.slice(0, 8)}`,
    l.sessionId ?? l.groupId,
    l.userId ?? "-",
    truncate(l.message ?? l.body, 30),
    String(l.receiveCount),
    time(l.firstFailedAt),
    time(l.lastFailedAt),
    truncate(l.reason, 60),
  ]);
}
const LETTER_HEADERS = ["JOB", "SESSION", "USER", "MESSAGE", "RECEIVES", "FIRST FAILURE", "LAST FAILURE", "REASON"];

/** What SQS FIFO holds back: a session's letters behind its first ones, until those are deleted. */
function heldBackText(hidden: number): string {
  return `${hidden} more dead letter(s) are held back by SQS FIFO behind earlier letters of their session, which it hands out first (a replay of the session reaches them as it deletes; export+purge shows all)`;
}

function hiddenNote(ctx: CommandContext, hidden: number): void {
  if (hidden > 0) ctx.err(`note: ${heldBackText(hidden)}.`);
}

export async function statusCommand(ctx: CommandContext): Promise<void> {
  const t = await target(ctx);
  const report = await withReader(t, ctx, (reader) => status(t, reader));
  if (ctx.values.json) return json(ctx, report.json);
  ctx.out(report.text);
}

export async function listCommand(ctx: CommandContext): Promise<void> {
  const sessions = (ctx.values.session as string[] | undefined) ?? [];
  const users = (ctx.values.user as string[] | undefined) ?? [];
  const reason = (ctx.values.reason as string | undefined)?.toLowerCase();
  const since = ctx.values.since === undefined ? undefined : Date.now() - parseDuration(ctx.values.since as string, "--since");
  const limit = parseCount(ctx.values.limit as string | undefined, "--limit");
  const t = await target(ctx);
  const { letters, hidden } = await withReader(t, ctx, (reader) => reader.readAll());
  let chosen = letters.filter((l) =>
    (sessions.length === 0 || sessions.includes(l.sessionId ?? l.groupId)) &&
    (users.length === 0 || (l.userId !== undefined && users.includes(l.userId))) &&
    (reason === undefined || l.reason.toLowerCase().includes(reason)) &&
    (since === undefined || (l.lastFailedAt ?? l.deadLetteredAt ?? 0) >= since));
  if (limit !== undefined) chosen = chosen.slice(0, limit);
  if (ctx.values.json) return json(ctx, chosen.map(letterJson));
  if (letters.length === 0) return ctx.out("the dead-letter queue is empty");
  ctx.out(table(LETTER_HEADERS, letterRows(chosen)));
  ctx.out(`\n${chosen.length} of ${letters.length} dead letter(s)${letters.some((l) => !l.job) ? `, ${letters.filter((l) => !l.job).length} not azuchi jobs (kept, never replayed)` : ""}`);
  hiddenNote(ctx, hidden);
}

export async function showCommand(ctx: CommandContext): Promise<void> {
  const id = ctx.positionals[0];
  if (!id) throw new UsageError("dlq show JOB: give a jobId (or a dead letter's messageId)");
  const t = await target(ctx);
  const { letters, hidden } = await withReader(t, ctx, (reader) => reader.readAll());
  const letter = letters.find((l) => l.jobId === id || l.messageId === id);
  if (!letter) {
    if (hidden > 0) throw new OpsError(`${id} is not among the ${letters.length} dead letter(s) SQS handed out; ${heldBackText(hidden)}, and it may be one of them`);
    throw new OpsError(letters.length === 0 ? "the dead-letter queue is empty" : `no dead letter for job ${id} (${letters.length} in the queue: dlq list)`);
  }
  if (ctx.values.json) return json(ctx, { ...letterJson(letter), body: letter.body, messageAttributes: letter.messageAttributes, systemAttributes: letter.systemAttributes });
  const lines = [
    `job            ${letter.jobId ?? "(not an azuchi job)"}`,
    `dead letter    ${letter.messageId}`,
    `session        ${letter.sessionId ?? letter.groupId}`,
    `user           ${letter.userId ?? "-"}`,
    `given up by    ${letter.movedBy === "agent" ? "the agent" : "the redrive policy"}`,
    `reason         ${letter.reason}`,
    `receives       ${letter.receiveCount}${letter.attempts !== undefined ? ` (attempts counted: ${letter.attempts})` : ""}`,
    `first failure  ${time(letter.firstFailedAt)}`,
    `last failure   ${time(letter.lastFailedAt)}`,
    `dead-lettered  ${time(letter.deadLetteredAt)}`,
    letter.job ? `sent by user   ${time(letter.job.createdAt)} via ${letter.job.source}` : `not a job      ${letter.notAJob}`,
    "",
    "message:",
    `  ${(letter.message ?? letter.body).split("\n").join("\n  ")}`,
    "",
    "failure history:",
    letter.history.length === 0
      ? "  (none recorded)"
      : table(["GIVEN UP", "FIRST RECEIVED", "RECEIVES", "ATTEMPTS", "REASON"], letter.history.map((h) => [time(h.at), time(h.firstReceivedAt), String(h.receives), h.attempts === undefined ? "-" : String(h.attempts), h.reason])).replace(/^/gm, "  "),
  ];
  ctx.out(lines.join("\n"));
}

function selector(ctx: CommandContext): { describe: string; select: (l: DeadLetter) => boolean; jobs: string[] } {
  const sessions = (ctx.values.session as string[] | undefined) ?? [];
  const users = (ctx.values.user as string[] | undefined) ?? [];
  const jobs = (ctx.values.job as string[] | undefined) ?? [];
  const all = ctx.values.all === true;
  const given = [sessions.length > 0, users.length > 0, jobs.length > 0, all].filter(Boolean).length;
  if (given !== 1) throw new UsageError("dlq replay: choose what to replay with exactly one of --session ID…, --user ID…, --job ID… or --all");
  if (all) return { describe: "every dead letter", select: () => true, jobs };
  if (sessions.length) return { describe: `the dead letters of session(s) ${sessions.join(", ")}`, select: (l) => sessions.includes(l.sessionId ?? ""), jobs };
  if (users.length) return { describe: `the dead letters of user(s) ${users.join(", ")}`, select: (l) => users.includes(l.userId ?? ""), jobs };
  return { describe: `job(s) ${jobs.join(", ")}`, select: (l) => jobs.includes(l.jobId ?? "") || jobs.includes(l.messageId), jobs };
}

export async function replayCommand(ctx: CommandContext): Promise<void> {
  const { describe, select, jobs } = selector(ctx);
  const rate = parseRate(ctx.values.rate as string | undefined);
  const dryRun = ctx.values["dry-run"] === true;
  const t = await target(ctx);
  const counts = await queueCounts(t, t.dlq);
  // AgentJobs must be FIFO too: a standard queue would take the letters and lose their order.
  await queueCounts(t, t.jobs);
  if (counts.visible + counts.inFlight === 0) {
    if (ctx.values.json) return json(ctx, { replayed: [], dryRun });
    return ctx.out("the dead-letter queue is empty: nothing to replay");
  }
  if (!dryRun && ctx.values.yes !== true && process.stdin.isTTY) {
    if (!(await ctx.confirm(`Replay ${describe} (the queue holds ~${counts.visible + counts.inFlight}) to ${t.jobs.url}? [y/N] `))) return ctx.out("nothing replayed");
  }
  const summary = await withReader(t, ctx, (reader) => replay(t, reader, { select, dryRun, rate, signal: ctx.signal }, new Progress("replaying", counts.visible)));
  // A --job never seen: not in the queue, or held back behind its session's earlier letters (which
  // SQS hands out first, and which a job replay keeps): said, never passed over as "replayed 0".
  const notSeen = summary.interrupted ? [] : jobs.filter((id) => !summary.seen.has(id));
  if (ctx.values.json) {
    json(ctx, {
      dryRun,
      ...(dryRun ? { wouldReplay: summary.planned.map(letterJson) } : { replayed: summary.replayed.map((l) => ({ ...letterJson(l), sentMessageId: l.sentMessageId ?? null })) }),
      kept: summary.kept,
      givenUpAgain: summary.givenUpAgain,
      heldBack: summary.hidden,
      notSeen,
      notJobs: summary.notJobs.map(letterJson),
      interrupted: summary.interrupted,
      errors: summary.errors,
    });
  } else {
    const done = dryRun ? summary.planned : summary.replayed;
    const sessions = new Set(done.map((l) => l.groupId)).size;
    if (done.length > 0) ctx.out(table(["SESSION", "JOB", "MESSAGE"], done.map((l) => [l.sessionId ?? l.groupId, l.jobId ?? l.messageId, truncate(l.message, 50)])));
    const left = summary.hidden > 0 ? `at least ${summary.kept} left in the dead-letter queue (${summary.kept} seen and kept, and those SQS held back unseen)` : `${summary.kept} left in the dead-letter queue`;
    ctx.out(
      dryRun
        ? `dry run: would replay ${summary.hidden > 0 ? "at least " : ""}${done.length} dead letter(s) of ${sessions} session(s), each in this order; nothing changed`
        : `replayed ${done.length} dead letter(s) of ${sessions} session(s) to AgentJobs; ${left}`,
    );
    if (summary.givenUpAgain > 0) ctx.out(`${summary.givenUpAgain} job(s) replayed were given up again while the replay ran: kept in the dead-letter queue (dlq show for the reason)`);
    if (summary.notJobs.length > 0) ctx.out(`${summary.notJobs.length} message(s) are not azuchi jobs: kept in the dead-letter queue (dlq show / dlq export to look at them)`);
    if (summary.interrupted) ctx.out("interrupted: run the same command again to replay the rest (nothing is lost or sent twice)");
    for (const error of summary.errors) ctx.err(`error: ${error}`);
    if (summary.hidden > 0) ctx.err(`note: ${heldBackText(summary.hidden)}${dryRun ? "; a dry run, deleting nothing, cannot list them" : ""}.`);
  }
  for (const id of notSeen) {
    ctx.err(summary.hidden > 0
      ? `error: job ${id} was not seen: it is not in the dead-letter queue, or held back behind earlier letters of its session (replay the session, in order: --session)`
      : `error: job ${id} was not seen: no such dead letter`);
  }
  if (summary.errors.length > 0 || notSeen.length > 0) process.exitCode = 1;
  if (summary.interrupted) process.exitCode = 130;
}

/** One line of an export: the dead letter as SQS gave it, enough to put its job back. */
const ExportLine = z.object({
  v: z.literal(1),
  messageId: z.string().min(1),
  groupId: z.string().min(1),
  body: z.string(),
  messageAttributes: z.record(z.string(), z.object({ DataType: z.string(), StringValue: z.string().optional() }).loose()),
  systemAttributes: z.record(z.string(), z.string()),
  exportedAt: z.string(),
});

export async function exportCommand(ctx: CommandContext): Promise<void> {
  const file = ctx.values.out as string | undefined;
  const t = await target(ctx);
  const { letters, hidden } = await withReader(t, ctx, (reader) => reader.readAll());
  const lines = letters.map((l) => JSON.stringify({ v: 1, messageId: l.messageId, groupId: l.groupId, body: l.body, messageAttributes: l.messageAttributes, systemAttributes: l.systemAttributes, exportedAt: new Date().toISOString() }));
  if (file === undefined || file === "-") {
    for (const line of lines) ctx.out(line);
  } else {
    try {
      writeFileSync(file, lines.map((line) => `${line}\n`).join(""), { flag: "wx" });
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      throw new OpsError(e.code === "EEXIST" ? `${file} exists: choose another --out (an export never overwrites a backup)` : `cannot write ${file}: ${e.message}`);
    }
    ctx.err(`exported ${letters.length} dead letter(s) to ${file}; the dead-letter queue is unchanged`);
  }
  if (hidden > 0) throw new OpsError(`the export is incomplete: ${hidden} dead letter(s) were held back by SQS FIFO (their session's first letters were being read); export again after replaying, or purge in steps`);
}

export async function importCommand(ctx: CommandContext): Promise<void> {
  const file = ctx.positionals[0];
  if (!file) throw new UsageError("dlq import FILE.jsonl: give the file an export wrote");
  const rate = parseRate(ctx.values.rate as string | undefined);
  const entries: z.infer<typeof ExportLine>[] = [];
  try {
    let n = 0;
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      n++;
      if (line.trim() === "") continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new OpsError(`${file}:${n}: not JSON`);
      }
      const entry = ExportLine.safeParse(parsed);
      if (!entry.success) throw new OpsError(`${file}:${n}: not a line of dlq export: ${z.prettifyError(entry.error)}`);
      entries.push(entry.data);
    }
  } catch (error) {
    if (error instanceof OpsError) throw error;
    throw new OpsError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const letters = entries.map((e) => toDeadLetter({ MessageId: e.messageId, Body: e.body, MessageAttributes: e.messageAttributes as never, Attributes: { ...e.systemAttributes, MessageGroupId: e.groupId } }));
  const jobs = letters.filter((l) => l.job !== undefined);
  if (ctx.values["dry-run"] === true) {
    if (ctx.values.json) return json(ctx, { dryRun: true, wouldSend: jobs.map(letterJson), skippedNotJobs: letters.length - jobs.length });
    ctx.out(`dry run: would send ${jobs.length} job(s) of ${new Set(jobs.map((l) => l.groupId)).size} session(s) to AgentJobs, each session in file order; ${letters.length - jobs.length} line(s) are not azuchi jobs`);
    return;
  }
  if (ctx.values.yes !== true && process.stdin.isTTY && !(await ctx.confirm(`Send ${jobs.length} job(s) from ${file} to AgentJobs? [y/N] `))) return ctx.out("nothing imported");
  const t = await target(ctx);
  await queueCounts(t, t.jobs);
  const limiter = new RateLimiter(rate);
  const groups = new Map<string, DeadLetter[]>();
  for (const letter of jobs) groups.set(letter.groupId, [...(groups.get(letter.groupId) ?? []), letter]);
  const progress = new Progress("importing", jobs.length);
  let sent = 0;
  // Sessions concurrently, each in file order; a failed send stops its session only (its later
  // jobs must not overtake it), and every session is reported, as replay does.
  const results = await Promise.all([...groups.entries()].map(async ([groupId, session]) => {
    const result = { sessionId: groupId, sent: [] as { messageId: string; jobId: string | null; sentMessageId: string | null }[], notSent: 0, error: null as string | null };
    for (const [i, letter] of session.entries()) {
      if (ctx.signal.aborted || result.error !== null) {
        result.notSent = session.length - i;
        break;
      }
      await limiter.take();
      if (ctx.signal.aborted) {
        result.notSent = session.length - i;
        break;
      }
      try {
        // A send SQS deduplicated (the same letter replayed or imported within 5 minutes) answers the first send's MessageId.
        const sentMessageId = await sendBack(t, letter);
        result.sent.push({ messageId: letter.messageId, jobId: letter.jobId ?? null, sentMessageId: sentMessageId ?? null });
        progress.update(++sent);
      } catch (error) {
        result.error = error instanceof Error ? error.message : String(error);
        result.notSent = session.length - i;
        break;
      }
    }
    return result;
  }));
  progress.done();
  const failed = results.filter((r) => r.error !== null);
  const interrupted = ctx.signal.aborted;
  const skipped = letters.length - jobs.length;
  if (ctx.values.json) {
    json(ctx, { imported: sent, sessions: results, skippedNotJobs: skipped, interrupted });
  } else {
    ctx.out(table(["SESSION", "SENT", "NOT SENT", "ERROR"], results.map((r) => [r.sessionId, String(r.sent.length), String(r.notSent), truncate(r.error ?? "", 70)])));
    ctx.out(`\nimported ${sent} job(s) of ${groups.size} session(s) to AgentJobs${failed.length > 0 ? `; ${failed.length} session(s) stopped at a failed send (import the file again: what was sent is deduplicated within 5 minutes, answered with nothing after)` : ""}${skipped > 0 ? `; skipped ${skipped} line(s) that are not azuchi jobs` : ""}`);
    if (interrupted) ctx.out("interrupted: run the same command again to send the rest");
    for (const r of failed) ctx.err(`error: session ${r.sessionId}: ${r.error}`);
  }
  if (failed.length > 0) process.exitCode = 1;
  if (interrupted) process.exitCode = 130;
}

export async function purgeCommand(ctx: CommandContext): Promise<void> {
  if (ctx.values.yes !== true) throw new UsageError("dlq purge deletes every dead letter: add --yes (and consider `dlq export --out backup.jsonl` first)");
  const t = await target(ctx);
  const removed: DeadLetter[] = [];
  await withReader(t, ctx, async (reader) => {
    for (let batch = await reader.next(); batch.length > 0 && !ctx.signal.aborted; batch = await reader.next()) {
      for (const letter of batch) {
        await reader.delete(letter);
        removed.push(letter);
      }
    }
  });
  if (ctx.values.json) return json(ctx, { removed: removed.map(letterJson) });
  if (removed.length === 0) return ctx.out("the dead-letter queue is empty: nothing removed");
  ctx.out(table(LETTER_HEADERS, letterRows(removed)));
  ctx.out(`\nremoved ${removed.length} dead letter(s)`);
}

export async function redriveCommand(ctx: CommandContext): Promise<void> {
  const t = await target(ctx);
  if (ctx.values.cancel === true) {
    const result = await cancelRedrive(t);
    if (ctx.values.json) return json(ctx, result);
    return ctx.out(result.cancelled ? `cancelled the redrive task; ${result.moved} message(s) had been moved` : "no redrive task is running");
  }
  const result = await redrive(t, { rate: parseRate(ctx.values.rate as string | undefined), wait: ctx.values["no-wait"] !== true, signal: ctx.signal });
  if (ctx.values.json) return json(ctx, result);
  if (result.status === "EMPTY") return ctx.out("the dead-letter queue is empty: nothing to redrive");
  ctx.out(`redrive ${result.status.toLowerCase()}: ${result.moved} of ${result.toMove} message(s) moved back to AgentJobs${result.failureReason ? ` (${result.failureReason})` : ""}`);
  if (result.status === "FAILED") process.exitCode = 1;
}


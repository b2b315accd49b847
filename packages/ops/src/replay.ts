import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { nonNegativeIntFromEnv } from "@azuchi/core/env";
import { historyAttribute, type DeadLetter } from "./dead-letter.ts";
import type { DlqReader, HeldLetter } from "./dlq-reader.ts";
import { OpsError } from "./errors.ts";
import { RateLimiter, type Progress } from "./format.ts";
import { call } from "./sqs-calls.ts";
import type { Target } from "./target.ts";

/**
 * The deduplication id of a replayed letter: new to AgentJobs (the job was enqueued under its
 * jobId, long past), yet the same on every run of a replay or import of this dead letter — so a
 * rerun after a crash between the send and the delete is swallowed by SQS within its 5 minutes,
 * and after them the agent's completed-job record and stored-reply check answer the copy with nothing.
 */
export function replayDeduplicationId(letter: Pick<DeadLetter, "messageId">): string {
  return `replay-${letter.messageId}`.slice(0, 128);
}

/** Sessions whose sends failed, with none sent, after which the replay stops (see replay()). */
const SYSTEMIC_FAILURES = 3;

export interface ReplayOptions {
  select: (letter: DeadLetter) => boolean;
  dryRun: boolean;
  rate: number | undefined;
  signal: AbortSignal;
}

export interface ReplaySummary {
  /** With the MessageId AgentJobs gave each send (the first send's again when SQS deduplicated it). */
  replayed: (DeadLetter & { sentMessageId: string | undefined })[];
  /** Dry run: what would be replayed, in order per session. */
  planned: DeadLetter[];
  notJobs: DeadLetter[];
  /** Letters seen but not chosen (left in the dead-letter queue). */
  kept: number;
  /** Of those, jobs this run replayed that were given up again while it ran (kept: one replay each). */
  givenUpAgain: number;
  /**
   * Letters SQS FIFO held back to the end, unseen: behind letters of their group that stayed in
   * the dead-letter queue (kept, or not sent after a failure), which it hands out first. `kept`
   * is then a lower bound of what is left. A dry run, deleting nothing, sees at most 10 of a group.
   */
  hidden: number;
  /** The jobIds and messageIds of every letter seen, for a --job asked for and never seen. */
  seen: Set<string>;
  interrupted: boolean;
  errors: string[];
}

/** Test hook: dies (SIGKILL) right after the Nth send, before its delete — the worst moment for a crash. */
const crashAfterSends = nonNegativeIntFromEnv("AZUCHI_OPS_CRASH_AFTER_SENDS", 0);
let sends = 0;

/** Sends a letter's job back to AgentJobs in its session's group, with its failure history. */
export async function sendBack(target: Target, letter: DeadLetter): Promise<string | undefined> {
  const url = target.jobs.url;
  const { MessageId } = await call("SendMessage", url, () =>
    target.sqs.send(new SendMessageCommand({
      QueueUrl: url,
      MessageBody: letter.body,
      MessageGroupId: letter.groupId,
      MessageDeduplicationId: replayDeduplicationId(letter),
      MessageAttributes: historyAttribute(letter),
    })),
  );
  sends++;
  if (crashAfterSends > 0 && sends >= crashAfterSends) {
    process.stderr.write(`azuchi-ops: crash point: sent ${letter.messageId} as ${MessageId}\n`);
    process.kill(process.pid, "SIGKILL");
  }
  // A send SQS deduplicated answers the MessageId of the first: a rerun can tell.
  return MessageId;
}

/**
 * Moves the chosen letters back to AgentJobs: sessions concurrently, each in its order in the
 * dead-letter queue (the order the agent gave them up, their original order), each letter deleted
 * only after its send succeeded. Letters not chosen stay held until the end (so SQS hands out the
 * rest) and are then released untouched; letters that are not azuchi jobs are never sent.
 */
export async function replay(target: Target, reader: DlqReader, options: ReplayOptions, progress: Progress): Promise<ReplaySummary> {
  const summary: ReplaySummary = { replayed: [], planned: [], notJobs: [], kept: 0, givenUpAgain: 0, hidden: 0, seen: new Set(), interrupted: false, errors: [] };
  const limiter = new RateLimiter(options.rate);
  const failedGroups = new Set<string>();
  // A job replayed while its fault lasts is given up again, as a new dead letter this run would
  // read: sent once per run, or the replay would chase it for ever.
  const sentJobs = new Set<string>();
  for (;;) {
    if (options.signal.aborted) {
      summary.interrupted = true;
      break;
    }
    const batch = await reader.next();
    if (batch.length === 0) break;
    const chosen: HeldLetter[] = [];
    for (const letter of batch) {
      summary.seen.add(letter.messageId);
      if (letter.jobId !== undefined) summary.seen.add(letter.jobId);
      if (letter.job === undefined) summary.notJobs.push(letter);
      else if (sentJobs.has(letter.job.jobId)) {
        summary.kept++;
        summary.givenUpAgain++;
      } else if (!options.select(letter) || failedGroups.has(letter.groupId)) summary.kept++;
      else chosen.push(letter);
    }
    if (options.dryRun) {
      summary.planned.push(...chosen);
      continue;
    }
    const groups = new Map<string, HeldLetter[]>();
    for (const letter of chosen) groups.set(letter.groupId, [...(groups.get(letter.groupId) ?? []), letter]);
    const results = await Promise.allSettled([...groups.entries()].map(async ([group, letters]) => {
      for (const letter of letters) {
        if (options.signal.aborted) return;
        await limiter.take();
        // Interrupted while waiting for its turn: not sent, handed back with the rest.
        if (options.signal.aborted) return;
        let sentMessageId: string | undefined;
        try {
          sentMessageId = await sendBack(target, letter);
          sentJobs.add(letter.jobId ?? letter.messageId);
          await reader.delete(letter);
        } catch (error) {
          // The session stops here, so its later letters are not replayed ahead of this one.
          failedGroups.add(group);
          throw error;
        }
        summary.replayed.push({ ...letter, sentMessageId });
        progress.update(summary.replayed.length);
      }
    }));
    for (const result of results) if (result.status === "rejected") summary.errors.push(result.reason instanceof Error ? result.reason.message : String(result.reason));
    // A failed session keeps its letters held, so SQS hands out only the others': the replay reads
    // on (a batch of only kept letters, or of one failing session, is no reason to stop). Only when
    // sends fail for several sessions and none has succeeded is it AgentJobs itself (no such queue,
    // a missing permission, no answer): then it stops rather than fail once per session.
    if (summary.replayed.length === 0 && failedGroups.size >= SYSTEMIC_FAILURES) break;
  }
  // Asked while the kept letters are still held, so what is visible is what they hold back.
  if (!summary.interrupted) summary.hidden = await reader.heldBack();
  progress.done();
  if (summary.errors.length > 0 && summary.replayed.length === 0) throw new OpsError(summary.errors[0]!);
  return summary;
}

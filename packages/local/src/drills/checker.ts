/**
 * The drills' Jepsen-style checker: from what the clients sent and what came out (the Messages
 * table, the queues, what each tab holds), whether the promise held — every message sent is
 * stored once and ends with exactly one reply or one final notice, replies in the order sent
 * per session, nothing left queued or in flight, no duplicates. Pure: no I/O, tested alone.
 */
import type { Message } from "@azuchi/core";

export interface SessionHistory {
  sessionId: string;
  /** The USER messages the tab sent and had acked, in the order sent: their messageIds. */
  sent: { messageId: string; text: string }[];
  /** Sends that were never acked (the client gave up): each is a violation. */
  unacked: string[];
  /** Every row of the session in the Messages table. */
  stored: Message[];
  /** What the tab holds at the end (its live frames and getSession), by messageId. */
  seen: ReadonlyMap<string, Message>;
  /** messageIds in the order the tab first got them; replies must reach it in the order sent. */
  arrival?: readonly string[];
  /**
   * Those of them the tab first got from getSession after a reconnect: a reply whose live frame
   * went to a socket cut meanwhile. The live frames of later turns may come before the
   * catch-up's answer (API Gateway promises no order between them), and a tab places a caught-up
   * message by its createdAt, as the web client does: only live replies must come in order.
   */
  caughtUp?: ReadonlySet<string>;
}

export interface QueueState {
  /** AgentJobs: visible, delayed and in flight. */
  queued: number;
  inFlight: number;
  /** Left in the dead-letter queue at the end (each must have been told, or it is lost). */
  deadLettered: number;
}

export interface CheckOptions {
  /**
   * A message may have been told it was given up and then answered (a DLQ replay): both
   * count as its outcome. Without it, a reply after a final notice is a duplicate outcome.
   */
  answerAfterGiveUp?: boolean;
  /**
   * Also check the bus (checkEvents): each stored message announced, each answered job completed,
   * exactly once, or at least once where the fault may repeat an event (Redis failing between an
   * announcement and its record in `…:announced`, or losing the record).
   */
  events?: "exactly-once" | "at-least-once";
}

export interface Figures {
  sent: number;
  answered: number;
  told: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** Outcomes stored but never shown to the tab, even after it resumed. */
  unseen: number;
  /**
   * With the bus checked (checkEvents): stored messages no MessagePosted announced, and those
   * announced more than once, with answered jobs whose AgentRunCompleted is missing or repeated.
   */
  unannounced: number;
  announcedTwice: number;
  /** With the bus checked: the messages and answered jobs found announced exactly once. */
  announced: number;
  queued: number;
  inFlight: number;
  deadLettered: number;
}

export interface Verdict {
  figures: Figures;
  /** One line per broken promise, naming the message. */
  violations: string[];
}

const isReply = (m: Message) => m.role === "AGENT" && m.messageType === "CONVERSATION";
const isFinalNotice = (m: Message) => m.messageType === "SYSTEM_LOG" && (m.payload as { final?: unknown } | undefined)?.final === true;

export function check(sessions: SessionHistory[], queues: QueueState, options: CheckOptions = {}): Verdict {
  const violations: string[] = [];
  const figures: Figures = { sent: 0, answered: 0, told: 0, lost: 0, duplicated: 0, outOfOrder: 0, unseen: 0, unannounced: 0, announcedTwice: 0, announced: 0, ...queues };
  for (const session of sessions) {
    const short = session.sessionId.slice(0, 8);
    figures.sent += session.sent.length + session.unacked.length;
    for (const text of session.unacked) {
      figures.lost++;
      violations.push(`session ${short}: ${JSON.stringify(text)} was never acked`);
    }
    const sentIds = new Set(session.sent.map((m) => m.messageId));
    const users = session.stored.filter((m) => m.role === "USER");
    // Stored once: one USER row per acked message, and none that nobody sent (a second copy has its own id).
    const usersById = countBy(users, (m) => m.messageId);
    const unacked = new Set(session.unacked);
    for (const user of users) {
      if (sentIds.has(user.messageId) || unacked.has(user.message)) continue;
      figures.duplicated++;
      violations.push(`session ${short}: a USER message was stored that no ack named: ${JSON.stringify(user.message)} (${user.messageId})`);
    }
    const replyAt: number[] = [];
    for (const [index, sent] of session.sent.entries()) {
      const name = `session ${short} message ${index + 1} ${JSON.stringify(sent.text)}`;
      if ((usersById.get(sent.messageId) ?? 0) === 0) {
        figures.lost++;
        violations.push(`${name}: acked as ${sent.messageId} but not stored`);
        continue;
      }
      const outcomes = session.stored.filter((m) => m.jobId === sent.messageId);
      const replies = outcomes.filter(isReply);
      const finals = outcomes.filter(isFinalNotice);
      if (replies.length === 0 && finals.length === 0) {
        figures.lost++;
        violations.push(`${name}: neither answered nor told it was given up`);
        continue;
      }
      if (replies.length > 1 || finals.length > 1 || (replies.length === 1 && finals.length === 1 && !options.answerAfterGiveUp)) {
        figures.duplicated++;
        violations.push(`${name}: ${replies.length} replies and ${finals.length} final notices, not exactly one`);
      }
      if (replies[0] && finals[0] && options.answerAfterGiveUp && finals[0].createdAt > replies[0].createdAt) {
        figures.outOfOrder++;
        violations.push(`${name}: told it was given up after it was answered`);
      }
      if (replies.length > 0) figures.answered++;
      if (finals.length > 0) figures.told++;
      if (replies[0]) replyAt.push(replies[0].createdAt);
      const missed = [...replies, ...finals].filter((m) => !session.seen.has(m.messageId));
      if (missed.length > 0) {
        figures.unseen += missed.length;
        violations.push(`${name}: the tab never got its ${missed.map((m) => m.messageType).join(", ")} (${missed.map((m) => m.messageId).join(", ")})`);
      }
    }
    // Replies in the order sent: each later message's reply is stored after the earlier one's.
    for (let i = 1; i < replyAt.length; i++) {
      if (replyAt[i]! <= replyAt[i - 1]!) {
        figures.outOfOrder++;
        violations.push(`session ${short}: reply ${i + 1} is stored before reply ${i}`);
      }
    }
    // And reached the tab in that order (a reply it never got is already counted as unseen).
    if (session.arrival) {
      const position = new Map(session.arrival.map((messageId, index) => [messageId, index]));
      const replyIds = session.sent.flatMap((sent) => session.stored.filter((m) => m.jobId === sent.messageId && isReply(m)).slice(0, 1).map((m) => m.messageId));
      const reached = replyIds.filter((messageId) => !session.caughtUp?.has(messageId)).map((messageId) => position.get(messageId)).filter((index) => index !== undefined);
      for (let i = 1; i < reached.length; i++) {
        if (reached[i]! < reached[i - 1]!) {
          figures.outOfOrder++;
          violations.push(`session ${short}: the tab got a reply before the reply of an earlier message`);
        }
      }
    }
    // The tab's copy of each stored message must be the stored one (nothing stale or foreign).
    for (const [id, held] of session.seen) {
      if (held.sessionId !== session.sessionId) violations.push(`session ${short}: the tab holds ${id} of another session`);
    }
  }
  if (queues.queued > 0) violations.push(`${queues.queued} job(s) still queued at the end`);
  if (queues.inFlight > 0) violations.push(`${queues.inFlight} job(s) still in flight at the end`);
  return { figures, violations };
}

/** An event as the bus delivered it (GET /dev/events): its detail-type and the detail's ids. */
export interface BusEvent {
  "detail-type": string;
  detail: { sessionId?: unknown; messageId?: unknown; jobId?: unknown };
}

export interface EventCheckOptions {
  delivery: "exactly-once" | "at-least-once";
  /**
   * Jobs left in the dead-letter queue: not ended (a reply stored and shown whose memory could
   * not be written is replayed, not told), so their AgentRunCompleted is not due; nor, for a job
   * the redrive policy moved there without the agent giving it up, what it stored.
   */
  deadLetteredJobIds: ReadonlySet<string>;
}

/**
 * The bus's side of the promise, for drills that check it: every stored message is announced by
 * exactly one MessagePosted — but a SYSTEM_LOG notice, which AgentRunFailed tells, and a message
 * of a job left in the dead-letter queue not announced yet — and nothing is announced that was
 * not stored; every job answered by a reply that was not stopped, and not left in the
 * dead-letter queue, has exactly one AgentRunCompleted. With at-least-once delivery,
 * a repeat is counted but is no violation. Adds to the verdict's figures and violations.
 */
export function checkEvents(sessions: SessionHistory[], events: BusEvent[], verdict: Verdict, options: EventCheckOptions): void {
  const { figures, violations } = verdict;
  /** Counts what was announced `times` times; answers whether that breaks the promise. */
  const tally = (times: number): boolean => {
    if (times === 1) figures.announced++;
    else if (times === 0) figures.unannounced++;
    else figures.announcedTwice++;
    return times === 0 || (times > 1 && options.delivery === "exactly-once");
  };
  const posted = countBy(events.filter((e) => e["detail-type"] === "MessagePosted"), (e) => String(e.detail.messageId));
  const completed = countBy(events.filter((e) => e["detail-type"] === "AgentRunCompleted"), (e) => `${String(e.detail.sessionId)}/${String(e.detail.jobId)}`);
  const stored = new Set<string>();
  for (const session of sessions) {
    const short = session.sessionId.slice(0, 8);
    for (const message of session.stored) {
      stored.add(message.messageId);
      if (message.messageType === "SYSTEM_LOG") continue;
      const times = posted.get(message.messageId) ?? 0;
      // A job the redrive policy moved to the DLQ (killed on its last receive) is announced by its replay.
      if (times === 0 && options.deadLetteredJobIds.has(message.jobId ?? message.messageId)) continue;
      if (tally(times)) violations.push(`session ${short}: its ${message.role} ${message.messageType} ${message.messageId} was announced ${times} times, not once`);
    }
    for (const reply of session.stored.filter((m) => isReply(m) && !m.stopped && m.jobId !== undefined && !options.deadLetteredJobIds.has(m.jobId))) {
      const times = completed.get(`${session.sessionId}/${reply.jobId!}`) ?? 0;
      if (tally(times)) violations.push(`session ${short}: job ${reply.jobId!} was answered and has ${times} AgentRunCompleted events, not one`);
    }
  }
  const sessionIds = new Set(sessions.map((session) => session.sessionId));
  for (const event of events) {
    if (event["detail-type"] !== "MessagePosted" || !sessionIds.has(String(event.detail.sessionId)) || stored.has(String(event.detail.messageId))) continue;
    figures.announcedTwice++;
    violations.push(`MessagePosted for ${String(event.detail.messageId)}, which is not stored`);
  }
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** `sent 12, answered 12, told 0, lost 0, duplicated 0, out of order 0` and the rest when not zero. */
export function formatFigures(f: Figures): string {
  const extra = [
    f.unseen ? `unseen ${f.unseen}` : "",
    f.announced ? `announced once ${f.announced}` : "",
    f.unannounced ? `unannounced ${f.unannounced}` : "",
    f.announcedTwice ? `announced twice ${f.announcedTwice}` : "",
    f.queued ? `queued ${f.queued}` : "",
    f.inFlight ? `in flight ${f.inFlight}` : "",
    f.deadLettered ? `dead-lettered ${f.deadLettered}` : "",
  ].filter(Boolean);
  return [`sent ${f.sent}, answered ${f.answered}, told ${f.told}, lost ${f.lost}, duplicated ${f.duplicated}, out of order ${f.outOfOrder}`, ...extra].join(", ");
}

/**
 * The conversation as the page shows it: turns, each a USER message and what the agent did
 * about it (its messages carry the USER message's id as `jobId`): the activity trail
 * (AGENT_LOG), the latest plan (PLAN), notices (SYSTEM_LOG), the reply, and the stream of a
 * reply still being written. Pure: derived from the state and the time.
 */
import { jobQuestion } from "@azuchi/core/contracts";
import type { ChatMessage } from "./protocol.ts";
import type { ChatState, OutgoingMessage, PendingRetry } from "./state.ts";
import type { ReplyStream } from "./streams.ts";

/** A turn with no news for this long is no longer shown as being answered. */
export const STALE_MS = 3 * 60_000;

export type TurnStatus =
  | "sending" // on the wire, not yet acknowledged
  | "offline" // typed while disconnected; goes out when the socket is back
  | "queued" // stored; waits in the session's queue behind the turn being answered
  | "waiting" // stored; the agent has not started yet
  | "answering"
  | "done"
  | "stopped"
  | "failed"
  | "unanswered";

export type PlanStepStatus = "pending" | "in_progress" | "completed";

export interface PlanView {
  message: ChatMessage;
  explanation?: string;
  steps: { step: string; status: PlanStepStatus }[];
  /** How many PLANs this turn has had; the view shows the latest. */
  revision: number;
}

/** What a finished turn did: the activity trail's length, and how long from the question to the end. */
export interface TurnSummary {
  steps: number;
  durationMs?: number;
}

export interface Turn {
  key: string;
  user?: ChatMessage;
  pending?: OutgoingMessage;
  activity: ChatMessage[];
  plan?: PlanView;
  /** The agent's and the system's other messages, in order: notices, the reply, unknown types. */
  items: ChatMessage[];
  reply?: ChatMessage;
  stream?: ReplyStream;
  status: TurnStatus;
  lastActivityAt: number;
  /** Once the turn has ended (answered, stopped or given up). */
  summary?: TurnSummary;
  /**
   * The job's failure notices shown as one, updated in place: the latest of them (in `items`
   * where the first one was), how many there were, and whether an answer came after all.
   */
  notice?: { message: ChatMessage; count: number; final: boolean; resolved: boolean };
  /** A Retry or a regeneration of this turn's message is on its way. */
  retry?: PendingRetry["status"];
  /** Earlier answers to the same message (regenerated since), oldest first; not in `items`. */
  previous: ChatMessage[];
}

export function toPlan(message: ChatMessage, revision: number): PlanView | undefined {
  const payload = message.payload as { explanation?: unknown; plan?: unknown } | undefined;
  if (!payload || !Array.isArray(payload.plan)) return undefined;
  const steps: PlanView["steps"] = [];
  for (const item of payload.plan as unknown[]) {
    const { step, status } = (item ?? {}) as { step?: unknown; status?: unknown };
    if (typeof step !== "string") return undefined;
    steps.push({ step, status: status === "completed" || status === "in_progress" ? status : "pending" });
  }
  return { message, steps, revision, ...(typeof payload.explanation === "string" && payload.explanation && { explanation: payload.explanation }) };
}

function emptyTurn(key: string, at: number): Turn {
  return { key, activity: [], items: [], previous: [], status: "waiting", lastActivityAt: at };
}

export function toTurns(state: Pick<ChatState, "messages" | "streams" | "outbox" | "connection"> & Partial<Pick<ChatState, "retries">>, now: number): Turn[] {
  const turns: Turn[] = [];
  const byJob = new Map<string, Turn>();
  const planRevisions = new Map<Turn, number>();
  /** The job each turn heard from last: an answer is current only if it is that job's. */
  const latestJob = new Map<Turn, string>();
  const replies = new Map<Turn, ChatMessage[]>();

  for (const message of state.messages) {
    if (message.role === "USER") {
      const turn = { ...emptyTurn(message.messageId, message.createdAt), user: message };
      turns.push(turn);
      byJob.set(message.messageId, turn);
      continue;
    }
    // Every answer to a message (a regenerated one's job is `<messageId>:<regenerateId>`) goes under it.
    const question = message.jobId ? jobQuestion(message.jobId) : undefined;
    let turn = question ? byJob.get(question) : turns.at(-1);
    if (!turn) {
      // The USER message is on an older page not loaded yet (or the message has no job).
      turn = emptyTurn(question ? `job:${question}` : `orphan:${message.messageId}`, message.createdAt);
      turns.push(turn);
      if (question) byJob.set(question, turn);
    }
    if (message.jobId) latestJob.set(turn, message.jobId);
    turn.lastActivityAt = Math.max(turn.lastActivityAt, message.createdAt);
    if (message.messageType === "AGENT_LOG") {
      turn.activity.push(message);
    } else if (message.messageType === "PLAN" && toPlan(message, 1)) {
      const revision = (planRevisions.get(turn) ?? 0) + 1;
      planRevisions.set(turn, revision);
      turn.plan = toPlan(message, revision);
    } else if (message.messageType === "SYSTEM_LOG" && turn.notice) {
      turn.items[turn.items.indexOf(turn.notice.message)] = message;
      turn.notice = { message, count: turn.notice.count + 1, final: isFinal(message), resolved: false };
    } else {
      turn.items.push(message);
      if (message.messageType === "SYSTEM_LOG") turn.notice = { message, count: 1, final: isFinal(message), resolved: false };
      if (message.role === "AGENT" && message.messageType === "CONVERSATION") replies.set(turn, [...(replies.get(turn) ?? []), message]);
    }
  }
  for (const [turn, answers] of replies) {
    const last = answers.at(-1)!;
    // While another answer is being made, every answer so far is a previous one.
    const current = last.jobId === undefined || last.jobId === latestJob.get(turn) ? last : undefined;
    turn.reply = current;
    turn.previous = answers.filter((m) => m !== current);
    if (turn.previous.length > 0) turn.items = turn.items.filter((m) => !turn.previous.includes(m));
  }
  for (const turn of turns) {
    if (turn.notice && turn.reply) turn.notice.resolved = true;
    const retry = turn.user && state.retries?.[turn.user.messageId];
    if (retry && (retry.jobId !== undefined || !turn.reply)) turn.retry = retry.status;
  }

  for (const stream of Object.values(state.streams)) {
    const open = turns.filter((t) => !t.reply && !t.stream);
    const target = open.findLast((t) => t.activity.length > 0 || t.plan || t.items.length > 0) ?? open[0];
    const turn = target ?? emptyTurn(`stream:${stream.messageId}`, stream.updatedAt);
    if (!target) turns.push(turn);
    turn.stream = stream;
    turn.lastActivityAt = Math.max(turn.lastActivityAt, stream.updatedAt);
  }

  const ready = state.connection.phase === "open" && state.connection.synced;
  let busy = false;
  for (const turn of turns) {
    turn.status = statusOf(turn, busy, now);
    busy ||= turn.status === "answering" || turn.status === "waiting" || turn.status === "queued";
  }
  for (const turn of turns) {
    if (turn.status === "done" || turn.status === "stopped" || turn.status === "failed") turn.summary = summaryOf(turn);
  }
  for (const pending of state.outbox) {
    turns.push({ ...emptyTurn(`pending:${pending.clientMessageId}`, pending.queuedAt), pending, status: pending.status === "sending" || ready ? "sending" : "offline" });
  }
  return turns;
}

function summaryOf(turn: Turn): TurnSummary {
  const end = turn.reply?.createdAt ?? turn.lastActivityAt;
  const start = turn.user?.createdAt;
  return { steps: turn.activity.length, ...(start !== undefined && end >= start && { durationMs: end - start }) };
}

const isFinal = (message: ChatMessage) => (message.payload as { final?: unknown } | undefined)?.final === true;

function statusOf(turn: Turn, busyBefore: boolean, now: number): TurnStatus {
  // Retried or regenerated: waiting for the agent again (or behind the turn being answered).
  if (turn.retry) return busyBefore ? "queued" : "waiting";
  if (turn.reply) return turn.reply.stopped ? "stopped" : "done";
  if (turn.notice?.final) return "failed";
  const recent = now - turn.lastActivityAt < STALE_MS;
  const started = turn.activity.length > 0 || turn.plan !== undefined || turn.items.length > 0 || turn.stream !== undefined;
  if (started) return recent ? "answering" : "unanswered";
  if (busyBefore) return "queued";
  return recent ? "waiting" : "unanswered";
}

/** The agent is working on this session (or about to): the Stop button shows. */
export function isAnswering(turns: Turn[]): boolean {
  return turns.some((t) => t.status === "answering" || t.status === "waiting");
}

const ENDED: Partial<Record<TurnStatus, string>> = { stopped: "Stopped", failed: "Not answered" };

/** "3 steps · 1.2 s" once the turn has ended; until then, what the agent is doing now. */
export function summaryText(summary: TurnSummary, status: TurnStatus): string {
  const parts = [ENDED[status], `${summary.steps} ${summary.steps === 1 ? "step" : "steps"}`, summary.durationMs === undefined ? undefined : formatDuration(summary.durationMs)];
  return parts.filter(Boolean).join(" · ");
}

/** "0.8 s", "12 s", "2 min 5 s": how long a turn took. */
export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 10) return `${(Math.round(seconds * 10) / 10).toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

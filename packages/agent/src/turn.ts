import { createHash } from "node:crypto";
import { ensureRedisReady, messagePosted, questionPosted, stopAppliesTo, type AgentJob, type Language, type Message, type PendingEvent } from "@azuchi/core";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { ResponseFunctionToolCall } from "openai/resources/responses/responses";
import { TurnMessages } from "./agent-messages.ts";
import { announcedOf, markAnnounced, questionUnannounced, storedUnannounced } from "./job-announced.ts";
import { DeltaStream } from "./delta-stream.ts";
import type { AgentDeps } from "./deps.ts";
import type { HistoryEntry } from "./conversation-memory.ts";
import { rebuildHistory } from "./memory-rebuild.ts";
import { firstTokenTimer, recordTokens } from "./run-metrics.ts";
import { firstCallEstimate, runModel, type ModelRunResult } from "./model-run.ts";
import { noticeLanguage, say } from "./notices.ts";
import { SessionChannel } from "./session-channel.ts";
import { ReceivesExhaustedError, SessionBusyError, TurnFailedError, TurnStoppedError } from "./turn-errors.ts";
import { TurnGuard } from "./turn-guard.ts";

export interface TurnMetrics {
  durationMs: number;
  toolCalls: string[];
  /** PostToConnection calls made (deltas and messages, to every tab). */
  posts: number;
  heartbeats: number;
}

export type TurnOutcome = ({ status: "completed" } & TurnMetrics) | ({ status: "stopped" } & TurnMetrics) | { status: "duplicate" };

export interface TurnOptions {
  /** When the turn must be over (the Lambda's time, less a margin). */
  deadlineAt: number;
  logger: Logger;
  /** The SQS message this delivery is: the job's attempts are counted per message (job-attempts.ts). */
  sqsMessageId: string;
  /**
   * The job's last receive, kept for giving it up (consume-jobs.ts): only finish a reply an
   * earlier attempt stored; otherwise throw ReceivesExhaustedError with this receive count.
   */
  finishOnlyAt?: number;
  /** The delivery's ApproximateReceiveCount (default 1): a redelivery looks for a stored reply before asking the model. */
  receiveCount?: number;
}

/**
 * One agent turn: answer one USER message under the session's lock, streaming the reply
 * to every tab, and write the session's memory only while still holding the lock.
 */
export async function runTurn(deps: AgentDeps, job: AgentJob, options: TurnOptions): Promise<TurnOutcome> {
  const started = Date.now();
  await ensureRedisReady(deps.redis);
  // The first model call's share is asked for beside the turn's start, the two commands sent
  // at once: one round trip before the request rather than two. A turn that does not run, or
  // ends before its first call, releases it unused (a release after the call's does nothing).
  const leaseAhead = deps.modelLimiter.tryAcquire(deps.settings.model.model, firstCallEstimate(deps.settings.model, job.message)).catch(() => undefined);
  const releaseAhead = () => leaseAhead.then((lease) => lease?.release(0)).catch(() => undefined);
  const begun = await deps.locks.begin(job.sessionId, job.jobId, options.sqsMessageId).catch(async (error: unknown) => {
    await releaseAhead();
    throw error;
  });
  if (begun.kind !== "started") await releaseAhead();
  if (begun.kind === "duplicate") return { status: "duplicate" };
  if (begun.kind === "busy") throw new SessionBusyError(job.sessionId, begun.retryAfterMs);

  const { lock, attempt } = begun;
  const { logger } = options;
  const guard = new TurnGuard(deps.locks, lock, {
    intervalMs: deps.settings.heartbeatMs,
    messageCreatedAt: job.createdAt,
    onError: (error) => logger.warn("lock heartbeat failed", { error: error as Error }),
  });
  guard.start(Math.min(options.deadlineAt, started + deps.settings.turnTimeoutMs));
  const channel = new SessionChannel(deps.notifier, deps.connections, job.sessionId, logger);
  // What failed deliveries of the job announced: read once, and only if a message is found stored.
  let announcedIds: Promise<Set<string>> | undefined;
  const announced = () => (announcedIds ??= announcedOf(deps.redis, deps.keys, job.sessionId, job.jobId));
  const messages = new TurnMessages(deps.messages, channel, job, announced);
  // An announce job's question goes with the events of the delivery that stored the first AGENT_LOG: not yet, if that one crashed outright.
  const questionStillUnannounced = async () => questionUnannounced(job, await announced());
  const language = noticeLanguage(job);
  // The deltas wait for the turn's first AGENT_LOG to be shown (true), or are dropped (false).
  let openDeltas: (go: boolean) => void = () => undefined;
  const deltasMayStart = new Promise<boolean>((resolve) => (openDeltas = resolve));
  const reply = new DeltaStream(channel, messages.idFor("reply"), {
    startAfter: deltasMayStart,
    onError: (error) => logger.warn("deltas not sent", { error: error as Error }),
  });
  // The USER message's MessagePosted goes with the turn's events when the job says so
  // (`announce`), published by the delivery that stored the turn's first message: one PutEvents a turn.
  let announceQuestion = false;
  /** Publishes the events (one PutEvents); answers the messageIds whose MessagePosted went out, or throws. */
  const send = async (events: PendingEvent[]): Promise<string[]> => {
    const all = announceQuestion ? [questionPosted(job), ...events] : events;
    announceQuestion = false;
    if (all.length === 0) return [];
    await (await deps.events()).publish(all);
    return all.flatMap((event) => (event.detailType === "MessagePosted" ? [(event.detail as { messageId: string }).messageId] : []));
  };
  /** A failed turn's events: what did not go out is logged, and announced by the next delivery (job-announced.ts). */
  const publish = (events: PendingEvent[]): Promise<string[]> =>
    send(events).catch((error: unknown) => (logger.warn("events not published", { error: error as Error }), []));
  // Set once the events of a written turn (job-record.ts) have been published: the lock's release
  // then marks the job completed. A delivery that ends before (killed) leaves it written, and the
  // next delivery publishes them (announceWritten).
  let eventsOfWrittenTurn = false;
  /**
   * The events of a written turn. If they cannot be published (EventBridge failing past the
   * SDK's retries), the delivery fails, silently (the user has the reply), and the job stays
   * written: its next delivery publishes them, up to the dead-letter queue and its replay.
   */
  const publishWritten = async (events: PendingEvent[]): Promise<void> => {
    await send(events);
    eventsOfWrittenTurn = true;
  };
  const touchSession = () => messages.touchSession().catch((error: unknown) => logger.warn("session summary not updated", { error: error as Error }));
  const metrics = (toolCalls: string[] = []) => ({ durationMs: Date.now() - started, toolCalls, posts: channel.posts, heartbeats: guard.heartbeats });
  // When Redis had lost the conversation, the rebuilt part is written back with this turn.
  let rebuilt: HistoryEntry[] = [];
  let earlierReply = false;
  // An earlier attempt stored the reply but stopped before writing the turn: finish that one
  // rather than answer again (the user has seen it; a second answer would contradict it).
  const finishEarlier = async (earlier: Message): Promise<TurnOutcome> => {
    earlierReply = true;
    await channel.sendMessage(earlier);
    await deps.memory.writeTurn(lock, job.jobId, turnEntries(job, earlier), null);
    const done = metrics();
    // The delivery that stored the reply ended before its events. One that failed announced its
    // messages; one that crashed outright announced nothing: the job's stored messages not
    // announced are announced here (and the question, with the first AGENT_LOG's delivery gone).
    const missed = await unannounced();
    // Nor did it send AgentRunCompleted (which follows the memory's write), so the turn would
    // never be announced, nor a new chat titled: sent here, without the usage and tool calls
    // that delivery took with it.
    await publishWritten([...messages.posted, ...missed.map(messagePosted), ...(earlier.stopped ? [] : [completed(done)])]);
    return { status: earlier.stopped ? "stopped" : "completed", ...done };
  };
  /**
   * The job's stored messages that no delivery announced (nor this one, in messages.posted), and
   * the question with them when it is an announce job's and still unannounced.
   */
  const unannounced = async (): Promise<Message[]> => {
    const missed = (await storedUnannounced(deps.messages, job, await announced())).filter((message) => !messages.posted.some((event) => event.detail.messageId === message.messageId));
    if (await questionStillUnannounced()) announceQuestion = true;
    return missed;
  };
  // An earlier delivery wrote the turn (its reply stored and shown, its memory written) and was
  // killed before its events: they are published here, from what is stored, and the job
  // completed. AgentRunCompleted goes without the usage and tool calls that delivery took with it.
  const announceWritten = async (): Promise<TurnOutcome> => {
    const missed = await unannounced();
    const earlier = missed.find((message) => message.messageId === messages.idFor("reply")) ?? (await deps.messages.findById(messages.idFor("reply")));
    const done = metrics();
    const answered = earlier !== undefined && !earlier.stopped;
    await publishWritten([...missed.map(messagePosted), ...(answered ? [completed(done)] : [])]);
    logger.info("turn written by an earlier delivery that ended before its events: events published", { announced: missed.length });
    return { status: answered ? "completed" : "stopped", ...done };
  };
  const completed = (done: ReturnType<typeof metrics>, result?: Pick<ModelRunResult, "usage" | "toolCalls">): PendingEvent<"AgentRunCompleted"> => ({
    detailType: "AgentRunCompleted",
    detail: { sessionId: job.sessionId, jobId: job.jobId, userId: job.userId, durationMs: done.durationMs, ...(result && { usage: result.usage, toolCalls: result.toolCalls }) },
  });
  try {
    // A redelivery may find its reply stored: it looks before the model is asked. A first
    // delivery looks beside the model request (below): a stored reply there is rare (a job
    // replayed from the dead-letter queue, Redis having lost its attempts) and stops the request.
    if (begun.written) return await announceWritten();
    const redelivered = attempt > 1 || (options.receiveCount ?? 1) > 1 || options.finishOnlyAt !== undefined;
    if (redelivered) {
      const earlier = await deps.messages.findById(messages.idFor("reply"));
      if (earlier) return await finishEarlier(earlier);
    }
    if (options.finishOnlyAt !== undefined) throw new ReceivesExhaustedError(options.finishOnlyAt);
    // A stop requested while this job waited (queued, or between two attempts) is this turn's.
    if (begun.stopRequestedAt !== undefined && stopAppliesTo(begun.stopRequestedAt, job.createdAt)) throw new TurnStoppedError(begun.stopRequestedAt);

    // The model is asked at once, and the "working on your message" AGENT_LOG is stored and
    // shown beside it, started once the request is written (or the call waits for the limiter,
    // or fails first): nothing the user does not need before the first token delays the
    // request, not even the CPU of the AGENT_LOG's write and post, which on a busy machine held
    // the lease's round trip and then the request's write back. Whatever the turn shows next
    // (deltas, notes, tool logs) waits for that AGENT_LOG, the protocol's order; if it fails,
    // the model is stopped and the turn fails with its error.
    const cancelModel = new AbortController();
    // A first delivery's AGENT_LOG write answers whether an earlier delivery of the job got this
    // far (a job replayed from the dead-letter queue, Redis having lost its attempts): only then
    // is the reply looked for, so a plain turn reads nothing.
    const storeReceived = async () => {
      const log = await messages.store("log:received", "AGENT_LOG", say("received", language));
      if (log.created) announceQuestion = job.announce === true;
      // Stored by an earlier delivery, which announced the question unless it crashed outright.
      else if (await questionStillUnannounced()) announceQuestion = true;
      if (!log.created && !redelivered) {
        const earlier = await deps.messages.findById(messages.idFor("reply"));
        if (earlier) throw new EarlierReplyFound(earlier);
      }
      await messages.show(log.message);
    };
    let received: Promise<{ error: unknown } | undefined> | undefined;
    const receive = () =>
      (received ??= storeReceived().then(
        () => (openDeltas(true), undefined),
        (error: unknown) => (openDeltas(false), cancelModel.abort(error), { error }),
      ));
    const shown = async () => {
      const failure = await receive();
      if (failure) throw failure.error;
    };
    let tools = 0;
    let notes = 0;
    let limitWaits = 0;
    const firstToken = firstTokenTimer(started);
    const result = await runModel(deps.openai, deps.tools, deps.settings.model, {
      userMessage: job.message,
      promptCacheKey: job.sessionId,
      safetyIdentifier: safetyIdentifier(job.userId),
      previousResponseId: begun.previousResponseId,
      loadHistory: async () => {
        const history = await deps.memory.history(job.sessionId);
        if (history.length > 0) return history;
        rebuilt = await rebuildHistory(deps.messages, job, deps.settings.historyLength);
        if (rebuilt.length > 0) logger.info("conversation memory rebuilt from the messages table", { entries: rebuilt.length });
        return rebuilt;
      },
      onText: (delta) => (firstToken(), reply.push(delta)),
      onToolCall: async (call) => (await shown(), runTool(deps, messages, call, `tool:${tools++}`, language, guard, job)),
      // A preamble (phase "commentary") or a reasoning summary is the model's account of its
      // work, not the answer: it joins the activity trail, beside "Calling get_current_time…".
      onActivity: async (note) => (await shown(), void (await messages.post(`note:${notes++}`, "AGENT_LOG", note.text.slice(0, MAX_NOTE_CHARS), { payload: { note: note.kind } }))),
      signal: AbortSignal.any([guard.signal, cancelModel.signal]),
      limiter: deps.modelLimiter,
      leaseAhead,
      onLimitWait: async (waitMs) => (await shown(), void (await messages.post(`log:limit:${limitWaits++}`, "AGENT_LOG", say("waitingForModel", language)(Math.max(1, Math.ceil(waitMs / 1000)))))),
      onRequest: () => void receive(),
    }).catch(async (error: unknown) => {
      // The AGENT_LOG's failure is the cause when it stopped the model; otherwise the abort's
      // own reason says more than the client's "request was aborted".
      const failure = await receive();
      throw failure?.error ?? guard.abortedBy ?? error;
    });
    await shown();
    const streamed = await reply.finish();
    guard.throwIfAborted();
    // A cut-off reply is kept as written and marked, so it is shown as cut off and never taken
    // for a whole answer; one cut before any answer (reasoning spent the budget) says so.
    const text = result.incomplete && !streamed.trim() ? say("cutOffEmpty", language) : streamed;
    const payload = { ...(result.refusal && { refusal: true }), ...(result.incomplete && { incomplete: result.incomplete }) };
    // Stored (with the session's summary, in one request) and shown, then written to the
    // session's memory while the lock is still renewed; the events come last, as a report of
    // what happened, in one PutEvents (the USER message's MessagePosted too, when announced).
    const stored = await messages.post("reply", "CONVERSATION", text, Object.keys(payload).length > 0 ? { payload } : {}, { withSummary: true });
    if (result.incomplete) logger.warn("the model's response was cut off", { reason: result.incomplete });
    const touched = touchSession();
    await deps.memory.writeTurn(lock, job.jobId, [...rebuilt, ...turnEntries(job, stored)], result.chainable ? result.responseId : null);
    await touched;
    const done = metrics(result.toolCalls);
    recordTokens(result.usage);
    await guard.stop();
    await publishWritten([...messages.posted, completed(done, result)]);
    return { status: "completed", ...done };
  } catch (error) {
    let failure = error;
    openDeltas(false);
    if (error instanceof EarlierReplyFound) {
      try {
        return await finishEarlier(error.reply);
      } catch (finishError) {
        failure = finishError;
      }
    } else if (error instanceof TurnStoppedError) {
      try {
        // A chat deleted meanwhile raised the stop flag (chat's deleteSession): nothing more is
        // kept, as no chat leads to it. One read, on a stop only.
        if (!(await deps.sessions.get(job.sessionId))) {
          await reply.cancel();
          logger.info("turn stopped: its session was deleted; nothing stored");
          return { status: "stopped", ...metrics() };
        }
        // A stopped turn keeps what was written, marked as stopped; the next turn rebuilds its
        // context from the history, since the interrupted response cannot be continued.
        // Stopped before it began (no AGENT_LOG): the first delivery announces the question here.
        if (!messages.stored.has("log:received") && attempt === 1 && (options.receiveCount ?? 1) === 1) announceQuestion = job.announce === true;
        const stored = await messages.post("reply", "CONVERSATION", await reply.finish(), { stopped: true }, { withSummary: true });
        await deps.memory.writeTurn(lock, job.jobId, [...rebuilt, ...turnEntries(job, stored)], null);
        await touchSession();
        await publishWritten(messages.posted);
        return { status: "stopped", ...metrics() };
      } catch (stopError) {
        failure = stopError;
      }
    }
    await reply.cancel();
    await touchSession();
    // Announced now only where it can be recorded (Redis answering), so that the next delivery
    // announces only what this one did not (job-announced.ts). With Redis away, nothing is: the
    // next delivery, or the give-up, finds what was stored unrecorded and announces it, once.
    if (deps.redis.status === "ready") {
      const announcedNow = await publish(messages.posted);
      await markAnnounced(deps.redis, deps.keys, job.sessionId, job.jobId, announcedNow).catch((error: unknown) =>
        logger.warn("what this delivery announced is not recorded; the next may announce it again", { error: error as Error }),
      );
    } else if (messages.posted.length > 0) {
      logger.info("Redis is away: what this delivery stored is announced by the next delivery or the give-up", { stored: messages.posted.length });
    }
    throw new TurnFailedError(attempt, failure, { replyStored: earlierReply || messages.stored.has("reply") });
  } finally {
    await releaseAhead();
    await guard.stop();
    await deps.locks.releaseLock(lock, eventsOfWrittenTurn ? job.jobId : undefined).catch((error: unknown) => logger.warn("lock not released; it expires by itself", { error: error as Error }));
  }
}

/** Control flow, not a failure: a first delivery found its reply stored by an earlier one. */
class EarlierReplyFound extends Error {
  readonly reply: Message;
  constructor(reply: Message) {
    super(`the reply ${reply.messageId} was stored by an earlier delivery`);
    this.name = "EarlierReplyFound";
    this.reply = reply;
  }
}

/**
 * Runs one tool call and shows it. Positions are ordinal ("tool:0", "tool:1"), not the
 * model's call ids, which differ on every run, so a retried turn rewrites the same messages.
 */
async function runTool(deps: AgentDeps, messages: TurnMessages, call: ResponseFunctionToolCall, position: string, language: Language, guard: TurnGuard, user: Pick<AgentJob, "timeZone" | "locale">): Promise<string> {
  guard.throwIfAborted();
  const tool = deps.tools.get(call.name);
  if (!tool) {
    // The model is told, so it can answer without it; the user sees why the turn took a detour.
    await messages.post(`${position}:unknown`, "AGENT_LOG", say("unknownTool", language)(call.name.slice(0, 100)));
    return JSON.stringify({ error: `no tool named ${call.name}; the tools are: ${deps.tools.names().join(", ")}` });
  }
  const args = tool.parameters.safeParse(safeJson(call.arguments));
  if (tool.shows === "log") await messages.post(`${position}:calling`, "AGENT_LOG", say("calling", language)(tool.name));
  if (!args.success) {
    if (tool.shows === "log") await messages.post(`${position}:outcome`, "AGENT_LOG", say("toolFailed", language)(tool.name));
    return JSON.stringify({ error: `invalid arguments: ${args.error.message}` });
  }
  const outcome = await tool.run(args.data, { language, now: () => new Date(), timeZone: user.timeZone, locale: user.locale });
  guard.throwIfAborted();
  if (tool.shows === "plan") await messages.post(position, "PLAN", outcome.summary, { payload: outcome.payload });
  else await messages.post(`${position}:outcome`, "AGENT_LOG", say("toolDone", language)(tool.name, outcome.summary));
  return outcome.output;
}

/** Longest activity note kept from the model's commentary or reasoning. */
const MAX_NOTE_CHARS = 4_000;

/** What OpenAI recommends as safety_identifier: a stable hash, so no user id leaves azuchi. */
export function safetyIdentifier(userId: string): string {
  return createHash("sha256").update(`azuchi:${userId}`).digest("hex");
}

function turnEntries(job: AgentJob, reply: Pick<Message, "messageId" | "message" | "createdAt">): HistoryEntry[] {
  return [
    { messageId: job.messageId, role: "USER", message: job.message, createdAt: job.createdAt },
    { messageId: reply.messageId, role: "AGENT", message: reply.message, createdAt: reply.createdAt },
  ];
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

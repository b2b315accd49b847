import { detectLanguage, ensureRedisReady, type AgentJob, type PendingEvent } from "@azuchi/core";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { ResponseFunctionToolCall } from "openai/resources/responses/responses";
import { TurnMessages } from "./agent-messages.ts";
import { DeltaStream } from "./delta-stream.ts";
import type { AgentDeps } from "./deps.ts";
import { runModel } from "./model-run.ts";
import { say } from "./notices.ts";
import { SessionChannel } from "./session-channel.ts";
import type { SessionLock } from "./session-lock.ts";
import { TurnAbortedError, TurnGuard } from "./turn-guard.ts";

export class SessionBusyError extends Error {
  /** How long the lock holds at most: retrying sooner would only find it busy again. */
  readonly retryAfterMs: number;
  constructor(sessionId: string, retryAfterMs: number) {
    super(`session ${sessionId} is locked by another turn; the job will be retried`);
    this.name = "SessionBusyError";
    this.retryAfterMs = retryAfterMs;
  }
}

/** A turn that failed after it began; carries which attempt of the job it was (its failures so far, plus one). */
export class TurnFailedError extends Error {
  readonly attempt: number;
  constructor(attempt: number, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "TurnFailedError";
    this.attempt = attempt;
  }
}

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
}

/**
 * One agent turn: answer one USER message under the session's lock, streaming the reply
 * to every tab, and write the session's memory only while still holding the lock.
 */
export async function runTurn(deps: AgentDeps, job: AgentJob, options: TurnOptions): Promise<TurnOutcome> {
  const started = Date.now();
  await ensureRedisReady(deps.redis);
  const begun = await deps.turns.begin(job.sessionId, job.jobId);
  if (begun.kind === "duplicate") return { status: "duplicate" };
  if (begun.kind === "busy") throw new SessionBusyError(job.sessionId, begun.retryAfterMs);

  const { lock, attempt } = begun;
  const { logger } = options;
  const guard = new TurnGuard(deps.turns, lock, started, {
    intervalMs: deps.settings.heartbeatMs,
    onError: (error) => logger.warn("lock heartbeat failed", { error: error as Error }),
  });
  guard.start(Math.min(options.deadlineAt, started + deps.settings.turnTimeoutMs));
  const channel = new SessionChannel(deps.notifier, deps.connections, job.sessionId, logger);
  const messages = new TurnMessages(deps.messages, channel, job);
  const language = detectLanguage(job.message);
  const reply = new DeltaStream(channel, messages.idFor("reply"), { onError: (error) => logger.warn("deltas not sent", { error: error as Error }) });
  const publish = (events: PendingEvent[]) =>
    deps.events.publish(events).catch((error: unknown) => logger.warn("events not published", { error: error as Error }));
  try {
    // An earlier attempt stored the reply but stopped before writing the turn: finish that
    // one rather than answer again (the user has seen it; a second answer would contradict it).
    const earlier = await deps.messages.findById(messages.idFor("reply"));
    if (earlier) {
      await channel.sendMessage(earlier);
      await deps.memory.writeTurn(lock, job.jobId, turnEntries(job, earlier), null);
      return { status: earlier.stopped ? "stopped" : "completed", durationMs: Date.now() - started, toolCalls: [], posts: channel.posts, heartbeats: guard.heartbeats };
    }

    await messages.post("log:received", "AGENT_LOG", say("received", language));
    let tools = 0;
    const result = await runModel(deps.openai, deps.tools, deps.settings.model, {
      userMessage: job.message,
      previousResponseId: begun.previousResponseId,
      loadHistory: () => deps.memory.history(job.sessionId),
      onText: (delta) => reply.push(delta),
      onToolCall: (call) => runTool(deps, messages, call, `tool:${tools++}`, language, guard),
      signal: guard.signal,
    }).catch((error: unknown) => {
      // The abort's own reason says more than the client's "request was aborted".
      if (guard.reason) throw new TurnAbortedError(guard.reason);
      throw error;
    });
    const text = await reply.finish();
    guard.throwIfAborted();
    // Stored, then written to the session's memory while the lock is still renewed; the
    // events come last, as a report of what happened.
    const stored = await messages.post("reply", "CONVERSATION", text);
    await deps.memory.writeTurn(lock, job.jobId, turnEntries(job, stored), result.responseId);
    const metrics = { durationMs: Date.now() - started, toolCalls: result.toolCalls, posts: channel.posts, heartbeats: guard.heartbeats };
    await guard.stop();
    await publish([
      ...messages.posted,
      {
        detailType: "AgentRunCompleted",
        detail: { sessionId: job.sessionId, jobId: job.jobId, userId: job.userId, durationMs: metrics.durationMs, usage: result.usage, toolCalls: result.toolCalls },
      },
    ]);
    return { status: "completed", ...metrics };
  } catch (error) {
    if (error instanceof TurnAbortedError && error.reason === "stopped") {
      return await finishStopped(deps, job, lock, guard, reply, messages, started, channel).catch((stopError: unknown) => {
        throw new TurnFailedError(attempt, stopError);
      });
    }
    await reply.cancel();
    if (messages.posted.length > 0) await publish(messages.posted);
    throw new TurnFailedError(attempt, error);
  } finally {
    await guard.stop();
    if (guard.stopRequestedAt !== undefined) {
      await deps.turns.clearStop(job.sessionId, guard.stopRequestedAt).catch((error: unknown) => logger.warn("stop flag not cleared", { error: error as Error }));
    }
    await deps.turns.releaseLock(lock).catch((error: unknown) => logger.warn("lock not released; it expires by itself", { error: error as Error }));
  }
}

/**
 * A stopped turn keeps what was written, marked as stopped; the next turn rebuilds its
 * context from the history, since the interrupted response cannot be continued.
 */
async function finishStopped(
  deps: AgentDeps,
  job: AgentJob,
  lock: SessionLock,
  guard: TurnGuard,
  reply: DeltaStream,
  messages: TurnMessages,
  started: number,
  channel: SessionChannel,
): Promise<TurnOutcome> {
  const partial = await reply.finish();
  const stored = await messages.post("reply", "CONVERSATION", partial, { stopped: true });
  await deps.memory.writeTurn(lock, job.jobId, turnEntries(job, stored), null);
  await deps.events.publish(messages.posted).catch(() => undefined);
  return { status: "stopped", durationMs: Date.now() - started, toolCalls: [], posts: channel.posts, heartbeats: guard.heartbeats };
}

/**
 * Runs one tool call and shows it. Positions are ordinal ("tool:0", "tool:1"), not the
 * model's call ids, which differ on every run, so a retried turn rewrites the same messages.
 */
async function runTool(deps: AgentDeps, messages: TurnMessages, call: ResponseFunctionToolCall, position: string, language: ReturnType<typeof detectLanguage>, guard: TurnGuard): Promise<string> {
  guard.throwIfAborted();
  const tool = deps.tools.get(call.name);
  if (!tool) return JSON.stringify({ error: `no tool named ${call.name}` });
  const args = tool.parameters.safeParse(safeJson(call.arguments));
  if (tool.shows === "log") await messages.post(`${position}:calling`, "AGENT_LOG", say("calling", language)(tool.name));
  if (!args.success) {
    if (tool.shows === "log") await messages.post(`${position}:outcome`, "AGENT_LOG", say("toolFailed", language)(tool.name));
    return JSON.stringify({ error: `invalid arguments: ${args.error.message}` });
  }
  const outcome = await tool.run(args.data, { language, now: () => new Date() });
  guard.throwIfAborted();
  if (tool.shows === "plan") await messages.post(position, "PLAN", outcome.summary, { payload: outcome.payload });
  else await messages.post(`${position}:outcome`, "AGENT_LOG", say("toolDone", language)(tool.name, outcome.summary));
  return outcome.output;
}

function turnEntries(job: AgentJob, reply: { messageId: string; message: string; createdAt: number }) {
  return [
    { messageId: job.messageId, role: "USER" as const, message: job.message, createdAt: job.createdAt },
    { messageId: reply.messageId, role: "AGENT" as const, message: reply.message, createdAt: reply.createdAt },
  ];
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

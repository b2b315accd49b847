import { detectLanguage, ensureRedisReady, type AgentJob } from "@azuchi/core";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { ResponseFunctionToolCall } from "openai/resources/responses/responses";
import { TurnMessages } from "./agent-messages.ts";
import { DeltaStream } from "./delta-stream.ts";
import type { AgentDeps } from "./deps.ts";
import { runModel } from "./model-run.ts";
import { say } from "./notices.ts";
import { SessionChannel } from "./session-channel.ts";
import { TurnAbortedError, TurnGuard } from "./turn-guard.ts";

export class SessionBusyError extends Error {
  constructor(sessionId: string) {
    super(`session ${sessionId} is locked by another turn; the job will be retried`);
    this.name = "SessionBusyError";
  }
}

/** A turn that failed after it began; carries which attempt of the job it was. */
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
  if (begun.kind === "busy") throw new SessionBusyError(job.sessionId);

  const { lock, attempt } = begun;
  const guard = new TurnGuard(deps.turns, lock, started, {
    intervalMs: deps.settings.heartbeatMs,
    onError: (error) => options.logger.warn("lock heartbeat failed", { error: error as Error }),
  });
  guard.start(Math.min(options.deadlineAt, started + deps.settings.turnTimeoutMs));
  const channel = new SessionChannel(deps.notifier, deps.connections, job.sessionId);
  const messages = new TurnMessages(deps.messages, channel, job);
  const language = detectLanguage(job.message);
  const reply = new DeltaStream(channel, messages.idFor("reply"));
  try {
    await messages.post("log:received", "AGENT_LOG", say("received", language));
    const result = await runModel(deps.openai, deps.tools, deps.settings.model, {
      userMessage: job.message,
      previousResponseId: begun.previousResponseId,
      loadHistory: () => deps.memory.history(job.sessionId),
      onText: (delta) => reply.push(delta),
      onToolCall: (call) => runTool(deps, messages, call, language, guard),
      signal: guard.signal,
    }).catch((error: unknown) => {
      // The abort's own reason says more than the client's "request was aborted".
      if (guard.reason) throw new TurnAbortedError(guard.reason);
      throw error;
    });
    await guard.stop();
    guard.throwIfAborted();
    const stored = await messages.post("reply", "CONVERSATION", await reply.finish());
    const metrics = { durationMs: Date.now() - started, toolCalls: result.toolCalls, posts: channel.posts, heartbeats: guard.heartbeats };
    await deps.events.publish([
      ...messages.posted,
      {
        detailType: "AgentRunCompleted",
        detail: { sessionId: job.sessionId, jobId: job.jobId, userId: job.userId, durationMs: metrics.durationMs, usage: result.usage, toolCalls: result.toolCalls },
      },
    ]);
    await deps.memory.writeTurn(lock, job.jobId, turnEntries(job, stored), result.responseId);
    return { status: "completed", ...metrics };
  } catch (error) {
    await guard.stop();
    if (error instanceof TurnAbortedError && error.reason === "stopped") {
      // Keep what was written, marked as stopped; the next turn rebuilds its context from the
      // history, since the interrupted response cannot be continued.
      const partial = await reply.finish().catch(() => reply.fullText);
      const stored = await messages.post("reply", "CONVERSATION", partial, { stopped: true });
      await deps.events.publish(messages.posted).catch((publishError: unknown) => options.logger.warn("events not published", { error: publishError as Error }));
      await deps.memory.writeTurn(lock, job.jobId, turnEntries(job, stored), null);
      if (guard.stopRequestedAt !== undefined) await deps.turns.clearStop(job.sessionId, guard.stopRequestedAt);
      return { status: "stopped", durationMs: Date.now() - started, toolCalls: [], posts: channel.posts, heartbeats: guard.heartbeats };
    }
    if (messages.posted.length > 0) {
      await deps.events.publish(messages.posted).catch((publishError: unknown) => options.logger.warn("events not published", { error: publishError as Error }));
    }
    throw new TurnFailedError(attempt, error);
  } finally {
    await deps.turns.releaseLock(lock).catch(() => undefined);
  }
}

async function runTool(deps: AgentDeps, messages: TurnMessages, call: ResponseFunctionToolCall, language: ReturnType<typeof detectLanguage>, guard: TurnGuard): Promise<string> {
  guard.throwIfAborted();
  const position = `tool:${call.call_id}`;
  const tool = deps.tools.get(call.name);
  if (!tool) return JSON.stringify({ error: `no tool named ${call.name}` });
  const args = tool.parameters.safeParse(safeJson(call.arguments));
  if (tool.shows === "log") await messages.post(`${position}:calling`, "AGENT_LOG", say("calling", language)(tool.name));
  if (!args.success) {
    if (tool.shows === "log") await messages.post(`${position}:outcome`, "AGENT_LOG", say("toolFailed", language)(tool.name));
    return JSON.stringify({ error: `invalid arguments: ${args.error.message}` });
  }
  const outcome = await tool.run(args.data, { language, now: () => new Date() });
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

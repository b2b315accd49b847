import { detectLanguage, ensureRedisReady, type AgentJob } from "@azuchi/core";
import type { ResponseFunctionToolCall } from "openai/resources/responses/responses";
import { TurnMessages } from "./agent-messages.ts";
import { DeltaStream } from "./delta-stream.ts";
import type { AgentDeps } from "./deps.ts";
import { runModel } from "./model-run.ts";
import { say } from "./notices.ts";

import { SessionChannel } from "./session-channel.ts";

export class SessionBusyError extends Error {
  constructor(sessionId: string) {
    super(`session ${sessionId} is locked by another turn; the job will be retried`);
    this.name = "SessionBusyError";
  }
}

export type TurnOutcome =
  | { status: "completed"; durationMs: number; toolCalls: string[]; posts: number }
  | { status: "duplicate" };

/**
 * One agent turn: answer one USER message under the session's lock, streaming the reply
 * to every tab, and write the session's memory only while still holding the lock.
 */
export async function runTurn(deps: AgentDeps, job: AgentJob): Promise<TurnOutcome> {
  const started = Date.now();
  await ensureRedisReady(deps.redis);
  if (await deps.memory.isCompleted(job.jobId)) return { status: "duplicate" };

  const lock = await deps.locks.acquire(job.sessionId);
  if (!lock) throw new SessionBusyError(job.sessionId);
  try {
    // Checked again under the lock: a racing delivery of the same job may have finished meanwhile.
    if (await deps.memory.isCompleted(job.jobId)) return { status: "duplicate" };
    const language = detectLanguage(job.message);
    const channel = new SessionChannel(deps.notifier, deps.connections, job.sessionId);
    const messages = new TurnMessages(deps.messages, channel, job);
    await messages.post("log:received", "AGENT_LOG", say("received", language));

    const replyId = messages.idFor("reply");
    const reply = new DeltaStream(channel, replyId);
    let toolStep = 0;
    const runTool = async (call: ResponseFunctionToolCall): Promise<string> => {
      const position = `tool:${toolStep++}`;
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
    };

    const previousResponseId = await deps.memory.previousResponseId(job.sessionId);
    const result = await runModel(deps.openai, deps.tools, deps.model, {
      userMessage: job.message,
      previousResponseId,
      loadHistory: () => deps.memory.history(job.sessionId),
      onText: (delta) => reply.push(delta),
      onToolCall: runTool,
    });
    const text = await reply.finish();
    const stored = await messages.post("reply", "CONVERSATION", text);

    const durationMs = Date.now() - started;
    await deps.events.publish([
      ...messages.posted,
      {
        detailType: "AgentRunCompleted",
        detail: {
          sessionId: job.sessionId,
          jobId: job.jobId,
          userId: job.userId,
          durationMs,
          usage: result.usage,
          toolCalls: result.toolCalls,
        },
      },
    ]);
    await deps.memory.writeTurn(
      lock,
      job.jobId,
      [
        { messageId: job.messageId, role: "USER", message: job.message, createdAt: job.createdAt },
        { messageId: stored.messageId, role: "AGENT", message: stored.message, createdAt: stored.createdAt },
      ],
      result.responseId,
    );
    return { status: "completed", durationMs, toolCalls: result.toolCalls, posts: channel.posts };
  } finally {
    await deps.locks.release(lock).catch(() => undefined);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

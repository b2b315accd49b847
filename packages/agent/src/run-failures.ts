import { agentMessageId, detectLanguage, type AgentJob } from "@azuchi/core";
import type { AgentDeps } from "./deps.ts";
import { say } from "./notices.ts";
import { SessionChannel } from "./session-channel.ts";

/**
 * A failed attempt reaches the user and ops: a SYSTEM_LOG in the user's language (one per
 * attempt, so every notice is kept) and an AgentRunFailed event with the reason.
 */
export async function reportFailedAttempt(deps: AgentDeps, job: AgentJob, attempt: number, error: unknown): Promise<void> {
  const final = attempt >= deps.maxReceiveCount;
  const language = detectLanguage(job.message);
  const text = final ? say("gaveUp", language) : say("willRetry", language)(attempt);
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const results = await Promise.allSettled([
    (async () => {
      const { message } = await deps.messages.put({
        sessionId: job.sessionId,
        messageId: agentMessageId(job.jobId, `system:attempt:${attempt}`),
        createdAt: Date.now(),
        role: "SYSTEM",
        messageType: "SYSTEM_LOG",
        message: text,
        jobId: job.jobId,
      });
      await new SessionChannel(deps.notifier, deps.connections, job.sessionId).sendMessage(message);
      return message;
    })(),
    deps.events.publish([
      { detailType: "AgentRunFailed", detail: { sessionId: job.sessionId, jobId: job.jobId, reason: reason.slice(0, 1000), attempt, final } },
    ]),
  ]);
  for (const result of results) {
    if (result.status === "rejected") {
      deps.logger.error("could not report a failed attempt", { sessionId: job.sessionId, jobId: job.jobId, error: result.reason as Error });
    }
  }
}

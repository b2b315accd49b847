import { agentMessageId, type AgentJob } from "@azuchi/core";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { ToldFailure } from "./classify-failure.ts";
import type { AgentDeps } from "./deps.ts";
import { noticeLanguage, say } from "./notices.ts";
import { SessionChannel } from "./session-channel.ts";

export interface FailedAttempt {
  /** Which attempt failed; position names the SYSTEM_LOG so each attempt's notice is kept once. */
  attempt: number;
  position: string;
  final: boolean;
  reason: string;
  /** The user already has the reply: ops hear of the failure, the user is not told of one. */
  silent: boolean;
  /** A final model failure the user is told about in its own words rather than "gave up". */
  tell?: ToldFailure;
}

/**
 * A failed attempt reaches the user and ops: a SYSTEM_LOG in the user's language saying it
 * will be retried or was given up (unless silent), and an AgentRunFailed event with the reason.
 * Answers whether the user was told (false when silent, or when the notice could not be stored).
 */
export async function reportFailedAttempt(deps: AgentDeps, job: AgentJob, failure: FailedAttempt, logger: Logger): Promise<boolean> {
  const language = noticeLanguage(job);
  const text = !failure.final ? say("willRetry", language)(failure.attempt) : failure.tell ? say("modelFailed", language)[failure.tell] : say("gaveUp", language);
  const [notice, event] = await Promise.allSettled([
    (async () => {
      if (failure.silent) return false;
      const { message } = await deps.messages.put({
        sessionId: job.sessionId,
        messageId: agentMessageId(job.jobId, failure.position),
        createdAt: Date.now(),
        role: "SYSTEM",
        messageType: "SYSTEM_LOG",
        message: text,
        jobId: job.jobId,
        // Clients show the turn as failed at once when told it was given up.
        payload: { attempt: failure.attempt, final: failure.final, ...(failure.tell && { failure: failure.tell }) },
      }, { after: job.createdAt });
      await new SessionChannel(deps.notifier, deps.connections, job.sessionId, logger).sendMessage(message);
      return true;
    })(),
    deps.events().then((events) =>
      events.publish([
        {
          detailType: "AgentRunFailed",
          detail: { sessionId: job.sessionId, jobId: job.jobId, reason: failure.reason.slice(0, 1000), attempt: failure.attempt, final: failure.final },
        },
      ]),
    ),
  ]);
  for (const result of [notice, event]) {
    if (result.status === "rejected") logger.error("could not report a failed attempt", { error: result.reason as Error });
  }
  return notice.status === "fulfilled" && notice.value;
}

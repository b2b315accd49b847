import * as z from "zod/mini";
import "./zod-english.ts";

/**
 * A job's id: the USER message's messageId (its answer), or `<messageId>:<regenerateId>` for
 * another answer to it (regenerateReply). Its messages carry it, so a page groups every answer
 * under its question by the part before the colon.
 */
export const JobId = z.union([z.uuid(), z.string().check(z.regex(/^[0-9a-f-]{36}:[0-9a-f-]{36}$/i, "<messageId>:<regenerateId>"))]);

/**
 * SQS keeps a message 14 days at most, so no delivery of a job comes later: what must outlive
 * every delivery of one (its messageId guard, its attempts, its completion) is kept 15.
 */
export const OUTLIVES_JOB_SECONDS = 15 * 24 * 3600;

/** The USER message a job answers. */
export const jobQuestion = (jobId: string): string => jobId.split(":")[0]!;

/** The body of an AgentJobs message: one USER message for the agent to answer. */
export const AgentJob = z.object({
  v: z.literal(1),
  /** The USER message's messageId (so a retried enqueue is deduplicated by SQS), or another answer's id (JobId). */
  jobId: JobId,
  sessionId: z.uuid(),
  userId: z.string().check(z.minLength(1)),
  connectionId: z.optional(z.string()),
  messageId: z.uuid(),
  message: z.string(),
  createdAt: z.int().check(z.nonnegative()),
  source: z.enum(["websocket", "http"]),
  /** The user's IANA time zone and BCP 47 locale, as their page reported them: the time tool answers in them. */
  timeZone: z.optional(z.string().check(z.maxLength(64))),
  locale: z.optional(z.string().check(z.maxLength(35))),
  /**
   * The turn publishes the USER message's MessagePosted with its own events (one PutEvents a
   * turn): set by the call that stored the message and queued it; absent for a retry's or
   * another answer's job, and for a message announced by chat (stored, its first queueing failed).
   */
  announce: z.optional(z.literal(true)),
});
export type AgentJob = z.infer<typeof AgentJob>;

export class InvalidJobError extends Error {
  constructor(issues: string) {
    super(`invalid agent job: ${issues}`);
    this.name = "InvalidJobError";
  }
}

export function parseAgentJob(body: string): AgentJob {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidJobError("body is not JSON");
  }
  const parsed = AgentJob.safeParse(json);
  if (!parsed.success) throw new InvalidJobError(z.prettifyError(parsed.error));
  return parsed.data;
}

import { z } from "zod";

/** The body of an AgentJobs message: one USER message for the agent to answer. */
export const AgentJob = z.object({
  v: z.literal(1),
  /** Equal to the USER message's messageId, so a retried enqueue is deduplicated by SQS. */
  jobId: z.uuid(),
  sessionId: z.uuid(),
  userId: z.string().min(1),
  connectionId: z.string().optional(),
  messageId: z.uuid(),
  message: z.string(),
  createdAt: z.number().int().nonnegative(),
  source: z.enum(["websocket", "http"]),
  /** The user's IANA time zone and BCP 47 locale, as their page reported them: the time tool answers in them. */
  timeZone: z.string().max(64).optional(),
  locale: z.string().max(35).optional(),
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

import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import type { AgentDeps } from "./deps.ts";

/**
 * Gives a job up to the dead-letter queue, with the reason, for ops to read and replay.
 * The agent does this itself — after its last counted attempt, or on the job's last receive
 * (consume-jobs.ts) — rather than leave it to the redrive policy, which moves a job without a
 * word to the user or a reason for ops.
 */
export async function sendToDeadLetters(deps: AgentDeps, record: SQSRecord, reason: string, attempts: number): Promise<void> {
  await deps.sqs.send(
    new SendMessageCommand({
      QueueUrl: deps.settings.deadLetterQueueUrl,
      MessageBody: record.body,
      MessageGroupId: record.attributes.MessageGroupId ?? "unknown",
      MessageDeduplicationId: record.messageId,
      MessageAttributes: {
        reason: { DataType: "String", StringValue: reason.slice(0, 1_000) || "unknown" },
        attempts: { DataType: "Number", StringValue: String(attempts) },
      },
    }),
  );
}

import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import type { AgentDeps } from "./deps.ts";

/**
 * Gives a job up to the dead-letter queue, with the reason, for ops to read and replay.
 * The agent does this itself after its last attempt rather than leave it to the redrive
 * policy: later messages of the session share each failed batch and so gather receives too,
 * and would follow the failed one into the DLQ without ever having run.
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

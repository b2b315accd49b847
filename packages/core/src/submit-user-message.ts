import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { AgentJob } from "./job.ts";
import type { MessagesRepository } from "./messages-repository.ts";
import type { Message } from "./message.ts";
import { userMessageId } from "./ids.ts";

export interface SubmitUserMessageDeps {
  messages: MessagesRepository;
  sqs: SQSClient;
  queueUrl: string;
}

export interface UserMessageInput {
  sessionId: string;
  userId: string;
  text: string;
  source: AgentJob["source"];
  connectionId?: string;
  clientMessageId?: string;
  now?: number;
}

export class EnqueueFailedError extends Error {
  readonly stored: Message;
  constructor(stored: Message, cause: unknown) {
    super(`message ${stored.messageId} was stored but its job could not be queued`, { cause });
    this.name = "EnqueueFailedError";
    this.stored = stored;
  }
}

/**
 * Stores a USER message, then puts its job on the queue: a job never exists for a message
 * a reload would not show. jobId = messageId and SQS deduplicates on it, so a client retry
 * (same clientMessageId, same messageId) is one message and one job.
 */
export async function storeUserMessage(deps: Pick<SubmitUserMessageDeps, "messages">, input: UserMessageInput) {
  return deps.messages.put({
    sessionId: input.sessionId,
    messageId: userMessageId(input.sessionId, input.clientMessageId),
    createdAt: input.now ?? Date.now(),
    role: "USER",
    messageType: "CONVERSATION",
    message: input.text,
    connectionId: input.connectionId,
  });
}

/** Queues the job of a stored USER message and records that it is queued. */
export async function enqueueUserMessage(deps: SubmitUserMessageDeps, stored: Message, input: UserMessageInput): Promise<Message> {
  if (stored.enqueuedAt !== undefined) return stored;
  const job: AgentJob = {
    v: 1,
    jobId: stored.messageId,
    sessionId: stored.sessionId,
    userId: input.userId,
    connectionId: input.connectionId,
    messageId: stored.messageId,
    message: stored.message,
    createdAt: stored.createdAt,
    source: input.source,
  };
  try {
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: deps.queueUrl,
        MessageBody: JSON.stringify(job),
        MessageGroupId: job.sessionId,
        MessageDeduplicationId: job.jobId,
      }),
    );
    const enqueuedAt = Date.now();
    await deps.messages.markEnqueued(stored.sessionId, stored.createdAt, enqueuedAt);
    return { ...stored, enqueuedAt };
  } catch (error) {
    throw new EnqueueFailedError(stored, error);
  }
}

import { randomUUID } from "node:crypto";
import { v5 as uuidv5 } from "uuid";

// Fixed namespaces: changing them would change every derived id and break replay detection.
const USER_MESSAGE_NAMESPACE = "4f1c8f5e-3b0a-4f57-9a43-2f0f6f2b7c11";
const AGENT_MESSAGE_NAMESPACE = "9b7e2c1d-6a54-4c3e-8f21-0d5e7a9c4b62";

/**
 * A USER message's id. With a clientMessageId it is derived, so a client's retry is the
 * same message (and, since jobId = messageId, the same job).
 */
export function userMessageId(sessionId: string, clientMessageId?: string): string {
  return clientMessageId ? uuidv5(`${sessionId}/${clientMessageId}`, USER_MESSAGE_NAMESPACE) : randomUUID();
}

/**
 * An agent message's id from its job and its place in the turn ("log:0", "reply",
 * "plan:1", "system:attempt:2"), so a redelivered job rewrites nothing.
 */
export function agentMessageId(jobId: string, position: string): string {
  return uuidv5(`${jobId}/${position}`, AGENT_MESSAGE_NAMESPACE);
}

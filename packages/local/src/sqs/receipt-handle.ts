import { receiptHandleIsInvalid } from "./errors.ts";

/**
 * Receipt handles are opaque to clients; here they name the queue, the message and the receive
 * they came from, so a handle from another queue or an earlier receive can be told apart.
 */
export function encodeReceiptHandle(queueName: string, messageId: string, token: string): string {
  return Buffer.from(JSON.stringify([queueName, messageId, token])).toString("base64url");
}

/** The message and receive a handle names; ReceiptHandleIsInvalid when it is not one of this queue's. */
export function decodeReceiptHandle(handle: string, queueName: string): { messageId: string; token: string } {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(handle, "base64url").toString("utf8"));
  } catch {
    throw receiptHandleIsInvalid(handle);
  }
  if (!Array.isArray(parts) || parts.length !== 3 || !parts.every((part) => typeof part === "string") || parts[0] !== queueName) {
    throw receiptHandleIsInvalid(handle);
  }
  return { messageId: parts[1] as string, token: parts[2] as string };
}

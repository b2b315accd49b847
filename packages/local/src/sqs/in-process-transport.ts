import type { BatchResultErrorEntry, Message } from "@aws-sdk/client-sqs";
import type { PollerTransport } from "../runtime/event-source-poller.ts";
import { SqsError } from "./errors.ts";
import type { SqsEmulator } from "./server.ts";

/**
 * The emulator's operations called in this process (SqsEmulator.call): the same queue
 * semantics as over HTTP, the answer in the shape the SDK would have deserialized it to
 * (binary attribute values as bytes), without a request and its SDK work per receive and delete.
 */
export function inProcessTransport(emulator: Pick<SqsEmulator, "call">): PollerTransport {
  // Errors as the SDK names them (QueueDoesNotExist, …), not as the emulator's own class.
  const call = (operation: string, input: object, signal?: AbortSignal) =>
    emulator.call(operation, { ...input }, signal).catch((error: unknown) => {
      throw error instanceof SqsError ? Object.assign(new Error(error.message), { name: error.code }) : error;
    });
  return {
    // An aborted long poll answers no messages at once, as one whose client went away.
    async receiveMessage(input, signal) {
      const output = (await call("ReceiveMessage", input, signal)) as { Messages?: Message[] };
      for (const message of output.Messages ?? []) {
        for (const value of Object.values(message.MessageAttributes ?? {})) {
          if (typeof value.BinaryValue === "string") value.BinaryValue = Buffer.from(value.BinaryValue, "base64");
        }
      }
      return output;
    },
    deleteMessageBatch: async (input) => (await call("DeleteMessageBatch", input)) as { Failed?: BatchResultErrorEntry[] },
    changeMessageVisibilityBatch: (input) => call("ChangeMessageVisibilityBatch", input),
  };
}

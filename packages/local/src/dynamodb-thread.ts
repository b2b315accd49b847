/** dynalite on a thread of its own (startDynamo with `thread`): it answers over HTTP while the stack's loop does other work. */
import { parentPort, workerData } from "node:worker_threads";
import { CallCounter } from "./call-counter.ts";
import { startDynamo, type CountRead } from "./dynamodb.ts";

const { dir, countRequests } = workerData as { dir?: string; countRequests: boolean };
// Counted here, and read by the stack's thread when GET /dev/calls asks (CountsElsewhere).
const calls = countRequests ? new CallCounter() : undefined;
const dynamo = await startDynamo({ dir, calls });
parentPort!.on("message", (message: unknown) => {
  if (message === "close") void dynamo.close().then(() => process.exit(0));
  else if (calls && typeof message === "object" && message !== null && "readCalls" in message) {
    const { readCalls: id, reset } = message as CountRead;
    parentPort!.postMessage({ counted: id, counts: calls.counted() });
    if (reset) calls.clear();
  }
});
parentPort!.postMessage({ endpoint: dynamo.endpoint });

/** dynalite on a thread of its own (startDynamo with `thread`): it answers over HTTP while the stack's loop does other work. */
import { parentPort, workerData } from "node:worker_threads";
import { startDynamo } from "./dynamodb.ts";

const dynamo = await startDynamo(workerData as { dir?: string });
parentPort!.on("message", (message: unknown) => {
  if (message === "close") void dynamo.close().then(() => process.exit(0));
});
parentPort!.postMessage({ endpoint: dynamo.endpoint });

/** dynalite on a thread of its own (startDynamo with `thread`): it answers over HTTP while the stack's loop does other work. */
import { parentPort, workerData } from "node:worker_threads";
import { startDynamo } from "./dynamodb.ts";

const { dir, countRequests } = workerData as { dir?: string; countRequests: boolean };
const dynamo = await startDynamo({
  dir,
  onRequest: countRequests ? (req) => parentPort!.postMessage({ request: { headers: { "x-amz-target": req.headers["x-amz-target"], authorization: req.headers.authorization } } }) : undefined,
});
parentPort!.on("message", (message: unknown) => {
  if (message === "close") void dynamo.close().then(() => process.exit(0));
});
parentPort!.postMessage({ endpoint: dynamo.endpoint });

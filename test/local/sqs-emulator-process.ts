/**
 * An SQS emulator in a process of its own, for tests that kill it with SIGKILL:
 * `node sqs-emulator-process.ts <dataDir>` prints its endpoint as one JSON line once it listens.
 */
import { startSqsEmulator } from "@azuchi/local/sqs";

const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: sqs-emulator-process.ts <dataDir>");
const emulator = await startSqsEmulator({ dataDir });
process.stdout.write(`${JSON.stringify({ endpoint: emulator.endpoint })}\n`);

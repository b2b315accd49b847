import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { AgentJob } from "@azuchi/core";
import { startSqsEmulator, type SqsEmulator } from "@azuchi/local/sqs";

const repo = resolve(import.meta.dirname, "../..");

export interface OpsRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * azuchi-ops as a child process, as `npm run ops -- …` runs it, with exactly `env` (variables
 * set to undefined are left out). `done` resolves when it exits, with what it printed.
 */
export function spawnOps(args: string[], env: Record<string, string | undefined> = process.env): { child: ChildProcess; done: Promise<OpsRun> } {
  const child = spawn(process.execPath, ["packages/ops/src/main.ts", ...args], {
    cwd: repo,
    env: Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined)),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const done = new Promise<OpsRun>((resolveRun, fail) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", fail);
    child.on("close", (code, signal) => resolveRun({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** This process's environment without the linked resources `sst shell` would give (SST_RESOURCE_*). */
export function unlinkedEnv(): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("SST_RESOURCE_")));
}

/** The CLI's environment against an SQS emulator, its SDK pointed there as on AWS it would be at SQS, letters held 5 s. */
export function emulatorEnv(endpoint: string): Record<string, string | undefined> {
  return { ...unlinkedEnv(), AWS_ENDPOINT_URL_SQS: endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local", AZUCHI_OPS_HOLD_SECONDS: "5" };
}

/** An SQS emulator in memory and a client of it. */
export async function startEmulatorAndClient(): Promise<{ emulator: SqsEmulator; sqs: SQSClient }> {
  const emulator = await startSqsEmulator();
  return { emulator, sqs: new SQSClient({ endpoint: emulator.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } }) };
}

/** Stops what startEmulatorAndClient started; either may be missing when the start failed. */
export async function stopEmulatorAndClient(emulator: SqsEmulator | undefined, sqs: SQSClient | undefined): Promise<void> {
  sqs?.destroy();
  await emulator?.close();
}

/** A valid queue job of a session, with fresh ids. */
export function testJob(sessionId: string, message: string): AgentJob {
  return { v: 1, jobId: randomUUID(), sessionId, userId: "ops-test", messageId: randomUUID(), message, createdAt: Date.now(), source: "websocket" };
}

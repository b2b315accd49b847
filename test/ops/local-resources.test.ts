import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { announcedPort } from "../support/ports.ts";

const repo = resolve(import.meta.dirname, "../..");

describe("npm start and GET /dev/resources", () => {
  it("prints the SQS endpoint and the queue URLs at start, and lists them with their ARNs at GET /dev/resources", async () => {
    const child = spawn(process.execPath, ["packages/local/src/main.ts", "--ephemeral"], {
      cwd: repo,
      env: { ...process.env, PORT: "0", POWERTOOLS_LOG_LEVEL: "SILENT" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
    try {
      await expect.poll(() => output, { timeout: 30_000, interval: 100 }).toContain("dead letters");
      const response = await fetch(`http://127.0.0.1:${announcedPort(output)}/dev/resources`);
      expect(response.status).toBe(200);
      const resources = (await response.json()) as { sqs: { endpoint: string; jobs: { url: string; arn: string }; dlq: { url: string; arn: string } }; tables: Record<string, string> };
      expect(resources.sqs.jobs.arn).toMatch(/^arn:aws:sqs:us-east-1:000000000000:azuchi-local-AgentJobs\.fifo$/);
      expect(resources.sqs.dlq.arn).toMatch(/AgentJobsDlq\.fifo$/);
      expect(resources.tables.messages).toBe("azuchi-local-Messages");
      expect(output).toContain(`SQS          ${resources.sqs.endpoint}`);
      expect(output).toContain(`AgentJobs    ${resources.sqs.jobs.url}`);
      expect(output).toContain(`dead letters ${resources.sqs.dlq.url}`);
    } finally {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  }, 60_000);
});

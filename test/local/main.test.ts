import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { announcedPort } from "../support/ports.ts";

const main = fileURLToPath(new URL("../../packages/local/src/main.ts", import.meta.url));

function childrenOf(pid: number): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("npm start's process", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`stops everything it started on ${signal}, its redis-server included, and exits 0`, async () => {
      // PORT=0: the stack takes a port the system gives it and says which (announcedPort).
      const stack = spawn(process.execPath, [main, "--ephemeral"], { env: { ...process.env, PORT: "0", POWERTOOLS_LOG_LEVEL: "SILENT" }, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      stack.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      stack.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => stack.once("exit", (code) => resolve(code)));
      await expect.poll(() => announcedPort(output), { timeout: 20_000, interval: 100 }).toBeGreaterThan(0);
      const port = announcedPort(output)!;
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const children = childrenOf(stack.pid!);
      expect(children.length).toBeGreaterThan(0);

      stack.kill(signal);
      expect(await exited).toBe(0);
      for (const child of children) await expect.poll(() => alive(child), { timeout: 5_000 }).toBe(false);
    });
  }
});

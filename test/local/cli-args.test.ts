import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const repo = resolve(import.meta.dirname, "../..");
const run = (script: string, ...args: string[]) => spawnSync(process.execPath, [script, ...args], { cwd: repo, encoding: "utf8", timeout: 30_000 });

describe("the local commands' options", () => {
  it("print their usage for --help and -h, and exit 0 without starting anything", () => {
    const drills = run("packages/local/src/drills/main.ts", "--help");
    expect(drills.status).toBe(0);
    expect(drills.stdout).toMatch(/^npm run drills .*\n[\s\S]*consumer-kill-before-events/);
    const start = run("packages/local/src/main.ts", "-h");
    expect(start.status).toBe(0);
    expect(start.stdout).toMatch(/^npm start .*--port/);
  });

  it("answer an unknown option, a missing value or a stray argument with the reason and the usage, exit 2, and no stack trace", () => {
    for (const [script, args, reason] of [
      ["packages/local/src/bench/main.ts", ["--rate", "20"], /Unknown option '--rate'/],
      ["packages/local/src/drills/main.ts", ["--only"], /--only <value>. argument missing/],
      ["packages/local/src/bench/bundles-main.ts", ["extra"], /Unexpected argument 'extra'/],
    ] as const) {
      const result = run(script, ...args);
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toMatch(reason);
      expect(result.stderr).toMatch(/\n\nnpm run /);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stdout).toBe("");
    }
  });
});

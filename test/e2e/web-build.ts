import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const web = join(root, "packages/web");
const built = join(web, "dist/index.html");
const sources = [join(web, "src"), join(web, "public"), join(web, "index.html"), join(web, "vite.config.ts"), join(root, "packages/core/src/frames.ts"), join(root, "packages/core/src/message.ts")];
const lock = join(web, ".build-lock");

function newest(path: string): number {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(info.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const isFresh = () => newest(built) > Math.max(...sources.map(newest));

/**
 * The stack serves packages/web/dist; `npm test` builds it first. Run alone, the browser
 * tests build it when the sources are newer, one test file at a time (a lock directory).
 */
export async function ensureWebBuild(): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!isFresh()) {
    try {
      mkdirSync(lock);
    } catch {
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 60_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error("timed out waiting for another web build");
      await new Promise((resolveWait) => setTimeout(resolveWait, 250));
      continue;
    }
    try {
      if (!isFresh()) execFileSync(process.execPath, [join(root, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "warn"], { cwd: web, stdio: "inherit" });
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/**
 * A build of the page with other build-time settings (VITE_*), e.g. a deployed sign-in, into
 * `outDir`; for a test that serves it itself. Built every time: the settings differ per run.
 */
export function buildWebWith(settings: Record<string, string>, outDir: string): void {
  execFileSync(process.execPath, [join(root, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "warn", "--outDir", outDir, "--emptyOutDir"], {
    cwd: web,
    stdio: "inherit",
    // As `npm run build:web`: vitest's NODE_ENV=test would give React's development build.
    env: { ...process.env, NODE_ENV: "production", ...settings },
  });
}

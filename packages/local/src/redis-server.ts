import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { freePort, waitForPort } from "./net.ts";

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Folder for the append-only file; without it nothing is kept on disk. */
  dir?: string;
  port?: number;
}

/**
 * Starts a private redis-server on a free loopback port. The stack and the
 * tests use their own server so they never share keys with the machine's Redis.
 */
export async function startRedisServer(options: StartRedisOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--protected-mode", "yes"];
  if (options.dir) {
    mkdirSync(options.dir, { recursive: true });
    args.push("--dir", options.dir, "--appendonly", "yes", "--appendfilename", "azuchi.aof");
  } else {
    args.push("--appendonly", "no");
  }
  let child: ChildProcess;
  try {
    // Its own process group: a Ctrl-C in the terminal must not stop Redis under the turns still
    // finishing; the stack stops it last, and the exit hook below if the stack could not.
    child = spawn("redis-server", args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
  } catch (error) {
    throw new RedisNotInstalledError(error);
  }
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<never>((_, reject) => {
    child.once("error", (error) => reject(new RedisNotInstalledError(error)));
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${stderr.trim()}`)));
  });
  const killOnExit = () => child.kill("SIGTERM");
  process.once("exit", killOnExit);
  child.once("exit", () => process.removeListener("exit", killOnExit));
  await Promise.race([waitForPort(port, 10_000), exited]);
  exited.catch(() => undefined);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.removeAllListeners("exit");
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

export class RedisNotInstalledError extends Error {
  constructor(cause: unknown) {
    super("redis-server could not be started: install it (Debian: apt-get install -y redis-server) or set REDIS_URL", { cause });
    this.name = "RedisNotInstalledError";
  }
}

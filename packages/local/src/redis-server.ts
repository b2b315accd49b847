import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePort, waitForPort } from "./net.ts";

export interface RedisServer {
  url: string;
  port: number;
  /** Whether a redis-server is running on the port now. */
  running(): boolean;
  /** The running redis-server's process id (for its CPU and memory), undefined when it is not running. */
  pid(): number | undefined;
  /**
   * Stops redis-server as an outage would: its clients see connections refused until start().
   * With a dir its data is kept on disk (the append-only file); without one it is gone.
   */
  halt(): Promise<void>;
  /**
   * Starts redis-server again on the same port. `empty` starts it without the data it had, as
   * a failover to a new, empty node would.
   */
  start(options?: { empty?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Folder for the append-only file; without it nothing is kept on disk. */
  dir?: string;
  port?: number;
}

const APPEND_DIR = "appendonlydir";

/**
 * Starts a private redis-server on a free loopback port. The stack and the
 * tests use their own server so they never share keys with the machine's Redis.
 */
export async function startRedisServer(options: StartRedisOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--protected-mode", "yes"];
  if (options.dir) {
    mkdirSync(options.dir, { recursive: true });
    args.push("--dir", options.dir, "--appendonly", "yes", "--appenddirname", APPEND_DIR, "--appendfilename", "azuchi.aof");
  } else {
    args.push("--appendonly", "no");
  }
  let child = await spawnRedis(args, port);
  const halt = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    running: () => child.exitCode === null && child.signalCode === null,
    pid: () => (child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    halt,
    async start(startOptions = {}) {
      await halt();
      if (startOptions.empty && options.dir) rmSync(join(options.dir, APPEND_DIR), { recursive: true, force: true });
      child = await spawnRedis(args, port);
    },
    stop: halt,
  };
}

async function spawnRedis(args: string[], port: number): Promise<ChildProcess> {
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
  exited.catch(() => undefined);
  await Promise.race([waitForPort(port, 10_000), exited]);
  return child;
}

export class RedisNotInstalledError extends Error {
  constructor(cause: unknown) {
    super("redis-server could not be started: install it (Debian: apt-get install -y redis-server) or set REDIS_URL", { cause });
    this.name = "RedisNotInstalledError";
  }
}

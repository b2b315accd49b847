import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { onFreePort, spawnRedisServer } from "./redis-process.ts";

export { RedisNotInstalledError, RedisPortInUseError } from "./redis-process.ts";

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
 * Starts a private redis-server on a free loopback port (another one if that was taken before
 * Redis could bind it). The stack and the tests use their own server so they never share keys
 * with the machine's Redis.
 */
export async function startRedisServer(options: StartRedisOptions = {}): Promise<RedisServer> {
  const argsFor = (port: number) => {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--protected-mode", "yes"];
    if (options.dir) args.push("--dir", options.dir, "--appendonly", "yes", "--appenddirname", APPEND_DIR, "--appendfilename", "azuchi.aof");
    else args.push("--appendonly", "no");
    return args;
  };
  if (options.dir) mkdirSync(options.dir, { recursive: true });
  const start = async (port: number) => ({ port, child: await spawnRedisServer(argsFor(port), port) });
  const started = options.port === undefined ? await onFreePort(start) : await start(options.port);
  const { port } = started;
  let { child } = started;
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
      // The same port: its clients reconnect to it, as to a node that came back.
      child = await spawnRedisServer(argsFor(port), port);
    },
    stop: halt,
  };
}

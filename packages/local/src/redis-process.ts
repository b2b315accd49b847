import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "./net.ts";

/** What is kept of a redis-server's log, for the error when it stops: its last lines. */
const LOG_TAIL_CHARS = 4_000;
const READY_TIMEOUT_MS = 10_000;

export class RedisNotInstalledError extends Error {
  constructor(cause: unknown) {
    super("redis-server could not be started: install it (Debian: apt-get install -y redis-server) or set REDIS_URL", { cause });
    this.name = "RedisNotInstalledError";
  }
}

/** The port (or a cluster node's bus port, 10000 above it) was taken before redis-server could bind it. */
export class RedisPortInUseError extends Error {
  readonly port: number;
  constructor(port: number, log: string) {
    super(`redis-server could not listen on port ${port}: it is in use\n${log}`);
    this.name = "RedisPortInUseError";
    this.port = port;
  }
}

/**
 * Starts redis-server with `args` (which hold `--port port`) and resolves once its own log says
 * it accepts connections: not when something answers on the port, which may be another
 * process that took it first. Rejects with RedisPortInUseError when the port was taken.
 * Its own process group: a Ctrl-C in the terminal must not stop Redis under the turns still
 * finishing; its owner stops it, and this process's exit if the owner could not.
 */
export async function spawnRedisServer(args: string[], port: number, exitSignal: NodeJS.Signals = "SIGTERM"): Promise<ChildProcess> {
  let child: ChildProcess;
  try {
    child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  } catch (error) {
    throw new RedisNotInstalledError(error);
  }
  const killOnExit = () => child.kill(exitSignal);
  process.once("exit", killOnExit);
  child.once("exit", () => process.removeListener("exit", killOnExit));
  let log = "";
  await new Promise<void>((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`redis-server on port ${port} was not ready within ${READY_TIMEOUT_MS} ms\n${log}`));
    }, READY_TIMEOUT_MS);
    // Read for as long as it runs: a full pipe would stop it at its next log line.
    const read = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-LOG_TAIL_CHARS);
      if (!ready && log.includes("Ready to accept connections")) {
        ready = true;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    child.once("error", (error) => (clearTimeout(timer), reject(new RedisNotInstalledError(error))));
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (ready) return;
      reject(log.includes("Address already in use") ? new RedisPortInUseError(port, log.trim()) : new Error(`redis-server on port ${port} exited with ${code ?? signal}: ${log.trim()}`));
    });
  });
  return child;
}

/**
 * Starts something on a free loopback port, and again on another if the port was taken between
 * its choice and the bind (another process, or another test file, got there first).
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>, attempts = 5, pick: () => Promise<number> = freePort): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await pick());
    } catch (error) {
      if (!(error instanceof RedisPortInUseError) || attempt >= attempts) throw error;
    }
  }
}

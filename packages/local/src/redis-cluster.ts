import { execFile, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { onFreePort, spawnRedisServer } from "./redis-process.ts";

const execFileAsync = promisify(execFile);
const SLOTS = 16_384;

/** One redis-server of the cluster. */
export interface ClusterNode {
  port: number;
  /** Whether its process is running. */
  running(): boolean;
}

export interface RedisCluster {
  /** A seed node's URL (any node: the Cluster client learns the rest from it). */
  url: string;
  nodes: ClusterNode[];
  /** The port of the master that serves `slot` now. */
  masterOf(slot: number): Promise<number>;
  /** The hash slot of a key, as the cluster computes it (CLUSTER KEYSLOT). */
  slotOf(key: string): Promise<number>;
  /**
   * Kills the node (SIGKILL, as a crashed host) and waits until a replica has taken its slots
   * over and the cluster answers again (`cluster_state:ok` with no slot served by it).
   */
  killAndFailOver(port: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** Masters (three at least: a majority must agree on a failover). Default 3. */
  masters?: number;
  /** Replicas per master; with none, a killed master takes its slots down with it. Default 1. */
  replicas?: number;
  /** How long a node may be unreachable before it is failed over. Default 1000 ms. */
  nodeTimeoutMs?: number;
}

/**
 * A real Redis Cluster on loopback ports: `redis-server --cluster-enabled yes` nodes in a temp
 * folder, joined with `redis-cli --cluster create`, for tests and drills that must meet what
 * ElastiCache in cluster mode does (slots, MOVED, CROSSSLOT, failover).
 */
export async function startRedisCluster(options: StartClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  const dir = mkdtempSync(join(tmpdir(), "azuchi-redis-cluster-"));
  const children = new Map<number, ChildProcess>();
  const stop = async () => {
    await Promise.all([...children.values()].map((child) => halt(child)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports = await Promise.all(
      Array.from({ length: masters * (1 + replicas) }, () =>
        onFreePort(async (port) => {
          children.set(port, await spawnNode(dir, port, nodeTimeoutMs));
          return port;
        }),
      ),
    );
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    await execFileAsync("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", String(replicas), "--cluster-yes"], { timeout: 30_000 });
    await until(async () => {
      const infos = await Promise.all(ports.map((port) => clusterInfo(port)));
      return infos.every((info) => info.cluster_state === "ok" && Number(info.cluster_known_nodes) === ports.length);
    }, 30_000, "the cluster to agree");
    // A replica that has not finished its first sync cannot take over.
    await until(async () => {
      const roles = await Promise.all(ports.map((port) => cli(port, "INFO", "replication")));
      return roles.every((info) => info.includes("role:master") || info.includes("master_link_status:up"));
    }, 30_000, "every replica to sync");
    const running = (port: number) => {
      const child = children.get(port);
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    };
    const masterOf = async (slot: number) => {
      for (const port of ports.filter(running)) {
        const slots = await slotOwners(port).catch(() => undefined);
        const owner = slots?.find((range) => range.from <= slot && slot <= range.to);
        if (owner) return owner.port;
      }
      throw new Error(`no running node knows who serves slot ${slot}`);
    };
    return {
      url: `redis://127.0.0.1:${ports[0]}`,
      nodes: ports.map((port) => ({ port, running: () => running(port) })),
      masterOf,
      async slotOf(key) {
        for (const port of ports.filter(running)) {
          const answer = await cli(port, "CLUSTER", "KEYSLOT", key).catch(() => undefined);
          if (answer !== undefined) return Number(answer.trim());
        }
        throw new Error("no running node answers CLUSTER KEYSLOT");
      },
      async killAndFailOver(port) {
        const child = children.get(port);
        if (!child) throw new Error(`no node on port ${port}`);
        await halt(child, "SIGKILL");
        const survivors = ports.filter(running);
        await until(async () => {
          for (const survivor of survivors) {
            const info = await clusterInfo(survivor).catch(() => undefined);
            if (info?.cluster_state !== "ok") return false;
            const owners = await slotOwners(survivor);
            if (owners.some((range) => range.port === port)) return false;
            // Every slot served again, by a node that answers.
            if (owners.reduce((sum, range) => sum + range.to - range.from + 1, 0) !== SLOTS) return false;
          }
          return true;
        }, 30_000, `a replica to take over from ${port}`);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function spawnNode(dir: string, port: number, nodeTimeoutMs: number): Promise<ChildProcess> {
  const nodeDir = join(dir, String(port));
  mkdirSync(nodeDir, { recursive: true });
  const args = [
    "--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "yes", "--dir", nodeDir,
    "--cluster-enabled", "yes", "--cluster-config-file", join(nodeDir, "nodes.conf"), "--cluster-node-timeout", String(nodeTimeoutMs),
    // A replica takes over however long ago it last heard from its master (the drills kill masters at will).
    "--cluster-replica-validity-factor", "0",
    "--save", "", "--appendonly", "no",
  ];
  return spawnRedisServer(args, port, "SIGKILL");
}

function halt(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

async function cli(port: number, ...command: string[]): Promise<string> {
  const { stdout } = await execFileAsync("redis-cli", ["-p", String(port), ...command], { timeout: 5_000 });
  return stdout;
}

async function clusterInfo(port: number): Promise<Record<string, string>> {
  const text = await cli(port, "CLUSTER", "INFO");
  return Object.fromEntries(text.split(/\r?\n/).filter((line) => line.includes(":")).map((line) => line.split(":", 2) as [string, string]));
}

/** The slot ranges each master serves, as `port` sees the cluster (`CLUSTER NODES`). */
async function slotOwners(port: number): Promise<{ from: number; to: number; port: number }[]> {
  const text = await cli(port, "CLUSTER", "NODES");
  return text.split(/\r?\n/).flatMap((line) => {
    const [, address, flags, , , , , linkState, ...slots] = line.split(" ");
    if (!address || !flags?.includes("master") || flags.includes("fail") || linkState !== "connected") return [];
    const owner = Number(address.split("@")[0]!.split(":")[1]);
    return slots.filter((range) => !range.startsWith("[")).map((range) => {
      const [from, to = from] = range.split("-");
      return { from: Number(from), to: Number(to), port: owner };
    });
  });
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

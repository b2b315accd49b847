import type { RedisClient } from "@azuchi/core";
// cluster-key-slot is the CRC16 that ioredis' Cluster client routes by (the same as Redis Cluster's).
import calculateSlot from "cluster-key-slot";

/** A command as it left a client: its name, the keys Redis Cluster routes it by, their slots. */
export interface SentCommand {
  name: string;
  keys: string[];
  slots: number[];
}

interface CommandLike {
  name: string;
  getKeys(): (string | Buffer)[];
}

/**
 * Records every command `redis` sends (pipelines and MULTI included: ioredis sends their
 * commands one by one through sendCommand), with the hash slot of each key.
 */
export function recordKeySlots(redis: RedisClient): SentCommand[] {
  const sent: SentCommand[] = [];
  const client = redis as unknown as { sendCommand: (command: CommandLike, ...rest: unknown[]) => unknown };
  const original = client.sendCommand.bind(redis);
  client.sendCommand = (command, ...rest) => {
    const keys = command.getKeys().map(String);
    sent.push({ name: command.name, keys, slots: keys.map((key) => calculateSlot(key)) });
    return original(command, ...rest);
  };
  return sent;
}

/** The commands whose keys fall in more than one slot: each one a CROSSSLOT error on a cluster. */
export function crossSlot(sent: SentCommand[]): SentCommand[] {
  return sent.filter((command) => new Set(command.slots).size > 1);
}

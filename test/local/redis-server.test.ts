import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { freePort } from "../support/ports.ts";
import { onFreePort, RedisPortInUseError } from "../../packages/local/src/redis-process.ts";
import { startRedisServer, type RedisServer } from "../../packages/local/src/redis-server.ts";

const closing: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((close) => close()));
});

function squat(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer().once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
    closing.push(() => new Promise((done) => server.close(done)));
  });
}

describe("a private redis-server", () => {
  it("is ready when its own log says so, and answers on its port", async () => {
    const redis = await startRedisServer();
    closing.push(() => redis.stop());
    const client = new Redis(redis.port, "127.0.0.1", { lazyConnect: true });
    closing.push(() => client.quit());
    expect(await client.ping()).toBe("PONG");
  });

  it("fails on a port another process holds, rather than taking that process for Redis", async () => {
    const port = await freePort();
    await squat(port);
    await expect(startRedisServer({ port })).rejects.toBeInstanceOf(RedisPortInUseError);
  });

  it("picks another port when the one it chose was taken before Redis could bind it", async () => {
    const taken = await freePort();
    await squat(taken);
    const picks = [taken];
    const pick = async () => picks.shift() ?? freePort();
    let redis: RedisServer | undefined;
    const port = await onFreePort(async (port) => {
      redis = await startRedisServer({ port });
      return port;
    }, 5, pick);
    closing.push(() => redis!.stop());
    expect(port).not.toBe(taken);
    expect(redis!.running()).toBe(true);
  });

  it("gives up after the attempts it was given, with the port's error", async () => {
    const taken = await freePort();
    await squat(taken);
    await expect(onFreePort((port) => startRedisServer({ port }), 2, async () => taken)).rejects.toThrow(/in use/);
  });

  it("comes back on the same port after an outage", async () => {
    const redis = await startRedisServer();
    closing.push(() => redis.stop());
    await redis.halt();
    expect(redis.running()).toBe(false);
    await redis.start();
    const client = new Redis(redis.port, "127.0.0.1", { lazyConnect: true });
    closing.push(() => client.quit());
    expect(await client.ping()).toBe("PONG");
  });
});

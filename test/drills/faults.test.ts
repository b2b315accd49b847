import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { LambdaCrashedError, startLambdaWorker } from "@azuchi/local/runtime";
import { startRedisServer } from "../../packages/local/src/redis-server.ts";

describe("the faults the drills inject", () => {
  it("a crashed Lambda worker fails the invocations it ran, and the next runs on a fresh instance", async () => {
    const worker = startLambdaWorker({ module: new URL("./fixtures/slow-handler.ts", import.meta.url).href, exportName: "handler", functionName: "slow", timeoutMs: 10_000 });
    try {
      await expect(worker.invoke({ ms: 0 })).resolves.toEqual({ invocations: 1 });
      const running = worker.invoke({ ms: 60_000 });
      expect(await worker.crash()).toBe(1);
      await expect(running).rejects.toBeInstanceOf(LambdaCrashedError);
      // A new instance: its module state starts again.
      await expect(worker.invoke({ ms: 0 })).resolves.toEqual({ invocations: 1 });
    } finally {
      await worker.close();
    }
  });

  it("redis-server stops and starts on the same port, with its data or empty", async () => {
    const dir = mkdtempSync(join(tmpdir(), "azuchi-redis-"));
    const server = await startRedisServer({ dir });
    const client = new Redis({ port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => 100, lazyConnect: true });
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.set("kept", "yes");
      await server.halt();
      expect(server.running()).toBe(false);
      await expect(client.get("kept")).rejects.toThrow();
      await server.start();
      await expect.poll(() => client.get("kept").catch(() => "unreachable")).toBe("yes");
      await server.start({ empty: true });
      await expect.poll(() => client.get("kept").catch(() => "unreachable")).toBe(null);
    } finally {
      client.disconnect();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { randomUUID } from "node:crypto";
import calculateSlot from "cluster-key-slot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConversationMemory } from "../../packages/agent/src/conversation-memory.ts";
import { SessionLocks } from "../../packages/agent/src/session-lock.ts";
import { LockLostError } from "../../packages/agent/src/turn-errors.ts";
import { settingsFromEnvironment } from "@azuchi/agent";
import { createDocumentClient, createRedis, ensureRedisReady, MessagesRepository, redisKeys, type RedisClient } from "@azuchi/core";
import type { RedisCluster } from "../../packages/local/src/redis-cluster.ts";
import { messageFrame, where } from "../support/frames.ts";
import { startTestRedisCluster } from "../support/redis-cluster.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";

const agentReply = messageFrame("CONVERSATION", "AGENT");
const keys = redisKeys();
let cluster: RedisCluster;
let stack: TestStack;
let redis: RedisClient;

beforeAll(async () => {
  cluster = await startTestRedisCluster({ masters: 3, replicas: 1 });
  const seed = new URL(cluster.url);
  stack = await startTestStack({ redisUrl: cluster.url, environment: { AZUCHI_REDIS_CLUSTER: "true" } });
  redis = createRedis({ host: seed.hostname, port: Number(seed.port), tls: false, cluster: true });
  await ensureRedisReady(redis);
}, 120_000);
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
  await cluster?.stop();
});

describe("the whole turn on a three-master Redis Cluster", () => {
  it("answers sessions whose keys live on different masters, each script on its session's slot", async () => {
    const tabs = await Promise.all(Array.from({ length: 6 }, (_, i) => stack.connect(`cluster-user-${i}`)));
    const sessions = await Promise.all(tabs.map((tab) => stack.sessionOf(tab)));
    const masters = new Set(await Promise.all(sessions.map((sessionId) => cluster.masterOf(calculateSlot(keys.history(sessionId))))));
    for (const [i, tab] of tabs.entries()) tab.send({ action: "putMessage", message: `plan my afternoon and tell me the time, tab ${i}` });
    const replies = await Promise.all(tabs.map((tab) => tab.waitFor(agentReply, 20_000)));
    for (const [i, reply] of replies.entries()) {
      const sessionId = sessions[i]!;
      // The turn writes its memory and completion mark, and releases the lock, after the reply
      // is sent: poll for them, rather than check at the reply's arrival.
      await expect.poll(() => redis.get(keys.job(sessionId, reply.message.jobId!))).toBe("completed");
      await expect.poll(() => redis.llen(keys.history(sessionId))).toBeGreaterThanOrEqual(2);
      await expect.poll(() => redis.exists(keys.sessionLock(sessionId))).toBe(0);
    }
    // Six random sessions nearly always spread over several masters; the run says so if not.
    expect(masters.size).toBeGreaterThan(1);
    await Promise.all(tabs.map((tab) => tab.close()));
  });

  it("loses nothing when a session's master dies mid-turn and its replica takes over, and the fence still fences", async () => {
    stack.model!.configure({ firstTokenMs: 50, tokenMs: 40 });
    try {
      const tab = await stack.connect("failover");
      const sessionId = await stack.sessionOf(tab);
      const master = await cluster.masterOf(calculateSlot(keys.sessionLock(sessionId)));
      tab.send({ action: "putMessage", message: "tell me a long story about the sea" });
      // Mid-turn: the reply is streaming, the lock held and beating on the master about to die.
      await tab.waitFor((frame) => frame.type === "delta", 20_000);
      await cluster.killAndFailOver(master);
      expect(await cluster.masterOf(calculateSlot(keys.sessionLock(sessionId)))).not.toBe(master);

      const first = await tab.waitFor(agentReply, 60_000);
      tab.send({ action: "putMessage", message: "and one more, after the failover" });
      await tab.waitFor(where(agentReply, (f) => f.message.messageId !== first.message.messageId), 30_000);
      // Each message ended with exactly one reply, in order; nothing went missing.
      const conversation = await new MessagesRepository(createDocumentClient(), settingsFromEnvironment().tables).list(sessionId);
      const users = conversation.filter((m) => m.messageType === "CONVERSATION" && m.role === "USER");
      const agents = conversation.filter((m) => m.messageType === "CONVERSATION" && m.role === "AGENT");
      expect(users.map((m) => m.message)).toEqual(["tell me a long story about the sea", "and one more, after the failover"]);
      expect(agents.map((m) => m.jobId)).toEqual(users.map((m) => m.messageId));
      await tab.close();

      // The promoted replica still fences: a turn whose lock expired cannot write over the next.
      const locks = new SessionLocks(redis, keys);
      const memory = new ConversationMemory(redis, keys, 50);
      const stale = await locks.begin(sessionId, randomUUID(), randomUUID(), 200);
      if (stale.kind !== "started") throw new Error(`expected to start, got ${stale.kind}`);
      await expect.poll(() => redis.exists(keys.sessionLock(sessionId)), { timeout: 5_000 }).toBe(0);
      const fresh = await locks.begin(sessionId, randomUUID(), randomUUID());
      if (fresh.kind !== "started") throw new Error(`expected to start, got ${fresh.kind}`);
      expect(fresh.lock.token).toBeGreaterThan(stale.lock.token);
      await expect(memory.writeTurn(stale.lock, randomUUID(), [], null)).rejects.toBeInstanceOf(LockLostError);
      expect(await locks.releaseLock(fresh.lock)).toBe(true);
    } finally {
      stack.model!.configure({ firstTokenMs: 20, tokenMs: 2 });
    }
  });
});

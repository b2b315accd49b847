import { startRedisServer, type RedisServer } from "../../packages/local/src/redis-server.ts";

/** A private redis-server for one test file; stop it in afterAll. */
export async function startTestRedis(): Promise<RedisServer> {
  return startRedisServer();
}

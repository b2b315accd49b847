import { startRedisCluster, type RedisCluster, type StartClusterOptions } from "../../packages/local/src/redis-cluster.ts";

/** A private three-master Redis Cluster (with a replica each) for one test file; stop it in afterAll. */
export async function startTestRedisCluster(options: StartClusterOptions = {}): Promise<RedisCluster> {
  return startRedisCluster(options);
}

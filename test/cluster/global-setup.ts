/**
 * The cluster run (jest.cluster.config.js): one local Redis Cluster of 3 masters and 3 replicas for the whole run,
 * announced to the tests (and the processes they spawn) as REDIS_CLUSTER_NODES, the setting users set.
 */
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster';

declare global {
  var __SAGALANE_TEST_CLUSTER__: RedisClusterHandle | undefined;
}

export default async function clusterGlobalSetup(): Promise<void> {
  const cluster = await startRedisCluster();
  globalThis.__SAGALANE_TEST_CLUSTER__ = cluster;
  process.env.REDIS_CLUSTER_NODES = cluster.nodesList;
  process.stderr.write(`\nRedis Cluster (3 masters, 3 replicas): ${cluster.nodesList}\n`);
}

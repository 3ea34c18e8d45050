/**
 * `npm run redis:cluster`: a local 3-master / 3-replica Redis Cluster on free loopback ports until Ctrl-C
 * (test/helpers/redis-cluster.ts). Prints the node list to point a cluster client at.
 */
import { startRedisCluster } from '../test/helpers/redis-cluster';

async function main(): Promise<void> {
  // Listen before starting, so a Ctrl-C during start-up still stops the nodes it started.
  const until = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const cluster = await startRedisCluster();
  process.stdout.write(`Redis Cluster is up (3 masters, 3 replicas, data in ${cluster.dir})\n`);
  process.stdout.write(`REDIS_CLUSTER_NODES=${cluster.nodesList}\n`);
  process.stdout.write('Press Ctrl-C to stop.\n');
  await until;
  await cluster.stop();
  process.stdout.write('Redis Cluster stopped and its data removed.\n');
}

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});

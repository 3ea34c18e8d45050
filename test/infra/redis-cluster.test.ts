/**
 * The Redis Cluster test infrastructure (test/helpers/redis-cluster.ts) gives a working 3-master / 3-replica
 * cluster: an ioredis `Cluster` writes keys that land on every master and reads them back, and each master's
 * replica holds its writes.
 */
import Redis, { Cluster } from 'ioredis';
import {
  clusterNodes,
  clusterRoles,
  startRedisCluster,
  type RedisClusterHandle,
} from '../helpers/redis-cluster';

describe('local Redis Cluster (3 masters, 3 replicas)', () => {
  let cluster: RedisClusterHandle;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = new Cluster(cluster.nodes);
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('reports 3 masters owning slots and 3 replicas in sync', () => {
    expect(cluster.nodes).toHaveLength(6);
    expect(clusterRoles(cluster.nodes.map((n) => n.port))).toEqual({ masters: 3, syncedReplicas: 3 });
  });

  it('writes through an ioredis Cluster onto every master and reads every key back', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `sagalane-test:cluster:${i}`);
    await Promise.all(keys.map((k, i) => client.set(k, `value-${i}`)));
    expect(await Promise.all(keys.map((k) => client.get(k)))).toEqual(keys.map((_, i) => `value-${i}`));

    // Each master holds some of the keys: the writes really were spread over the shards.
    const perMaster = await Promise.all(client.nodes('master').map((node) => node.dbsize()));
    expect(perMaster).toHaveLength(3);
    for (const count of perMaster) expect(count).toBeGreaterThan(0);
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe(keys.length);
  });

  it('has each master’s writes on its replica', async () => {
    await client.set('sagalane-test:cluster:replicated', 'yes');
    const slot = Number(await client.cluster('KEYSLOT', 'sagalane-test:cluster:replicated'));
    const nodes = clusterNodes(cluster.nodes[0]!.port);
    const owner = nodes.find((n) => n.role === 'master' && n.slots.some(([a, b]) => slot >= a && slot <= b))!;
    const replicaPort = nodes.find((n) => n.role === 'replica' && n.masterId === owner.id)!.port;
    const master = client.nodes('master').find((node) => node.options.port === owner.port)!;
    // WAIT returns how many replicas acknowledged the write.
    expect(await master.wait(1, 5_000)).toBe(1);
    const replica = new Redis({ host: '127.0.0.1', port: replicaPort, lazyConnect: true });
    try {
      await replica.connect();
      await replica.call('READONLY');
      expect(await replica.get('sagalane-test:cluster:replicated')).toBe('yes');
    } finally {
      replica.disconnect();
    }
  });
});

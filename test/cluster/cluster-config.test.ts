/** REDIS_CLUSTER_NODES: the one switch that makes every connection a Cluster, validated at the edge. */
import { Cluster } from 'ioredis';
import { ConfigError, loadConfig } from '../../src/config';
import { isCluster, openLaneConnection, openRedis, parseClusterUrl } from '../../src/lane/redis-connections';
import { LaneOptionsError } from '../../src/lane';

describe('REDIS_CLUSTER_NODES', () => {
  it('turns the Redis address into a cluster address, with REDIS_URL credentials and TLS', () => {
    const plain = loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000, 127.0.0.1:7001' });
    expect(plain.redisUrl).toBe('redis+cluster://127.0.0.1:7000,127.0.0.1:7001');
    expect(plain.redisClusterNodes).toEqual(['127.0.0.1:7000', '127.0.0.1:7001']);
    const secure = loadConfig({
      REDIS_CLUSTER_NODES: 'redis-a.internal:6379',
      REDIS_URL: 'rediss://app:s3cret@ignored:1',
    });
    expect(secure.redisUrl).toBe('rediss+cluster://app:s3cret@redis-a.internal:6379');
    expect(parseClusterUrl(secure.redisUrl)).toEqual({
      nodes: [{ host: 'redis-a.internal', port: 6379 }],
      username: 'app',
      password: 's3cret',
      tls: true,
    });
  });

  it('leaves the single-Redis address alone when unset', () => {
    const c = loadConfig({ REDIS_URL: 'redis://10.0.0.5:6380/2' });
    expect(c.redisUrl).toBe('redis://10.0.0.5:6380/2');
    expect(c.redisClusterNodes).toEqual([]);
  });

  it('accepts a redis+cluster:// REDIS_URL as well', () => {
    const c = loadConfig({ REDIS_URL: 'redis+cluster://127.0.0.1:7000,127.0.0.1:7001' });
    expect(c.redisClusterNodes).toEqual(['127.0.0.1:7000', '127.0.0.1:7001']);
  });

  it.each(['127.0.0.1', '127.0.0.1:7000,:7001', 'host:99999', 'redis://127.0.0.1:7000'])(
    'refuses %j naming the variable',
    (value) => {
      let err: unknown;
      try {
        loadConfig({ REDIS_CLUSTER_NODES: value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.variable)).toEqual(['REDIS_CLUSTER_NODES']);
      expect((err as Error).message).toMatch(/host:port/);
    },
  );

  it('opens a Cluster for a cluster address and a Redis otherwise (no connection made: lazy)', () => {
    const cluster = openLaneConnection('redis+cluster://127.0.0.1:7000,127.0.0.1:7001', 'client');
    const single = openRedis('redis://127.0.0.1:6379', { lazyConnect: true });
    try {
      expect(cluster).toBeInstanceOf(Cluster);
      expect(isCluster(cluster)).toBe(true);
      expect(isCluster(single)).toBe(false);
      // The producer role fails fast on a cluster too.
      expect((cluster as Cluster).options.enableOfflineQueue).toBe(false);
      expect((cluster as Cluster).options.redisOptions?.maxRetriesPerRequest).toBe(1);
    } finally {
      cluster.disconnect();
      single.disconnect();
    }
  });

  it('refuses a malformed cluster address with a named error', () => {
    expect(() => openRedis('redis+cluster://nohost')).toThrow(LaneOptionsError);
  });
});

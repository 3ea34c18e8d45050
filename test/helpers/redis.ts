/**
 * Real Redis for tests: a unique key prefix per test file and cleanup of everything under it.
 *
 * With REDIS_CLUSTER_NODES set (jest.cluster.config.js starts a local cluster and sets it), `redisUrl()` is the
 * cluster's `redis+cluster://` address and `redisClient()` an ioredis Cluster, so the same tests run on a cluster.
 */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { clusterUrl } from '../../src/config';
import { groupBySlot, scanKeys } from '../../src/lane/cluster-slots';
import { openRedis, type RedisClient } from '../../src/lane/redis-connections';

export function redisUrl(): string {
  const nodes = process.env.REDIS_CLUSTER_NODES;
  if (nodes) return clusterUrl(nodes.split(','));
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

export function uniquePrefix(name: string): string {
  return `sltest:${name}:${randomUUID().slice(0, 8)}`;
}

/** Whether the tests run against a Redis Cluster (jest.cluster.config.js). */
export function onCluster(): boolean {
  return Boolean(process.env.REDIS_CLUSTER_NODES);
}

/**
 * A connection for test bookkeeping. Typed `Redis` so the tests' own annotations stay as they are: on a cluster it
 * is a `Cluster`, which answers every single-slot command a test sends the same way.
 */
export function redisClient(): Redis {
  return openRedis(redisUrl(), { maxRetriesPerRequest: 3 }) as Redis;
}

/** Deletes every key under `prefix` (SCAN on every master, never KEYS; UNLINK per slot on a cluster). */
export async function deleteKeys(redis: RedisClient, prefix: string): Promise<number> {
  let deleted = 0;
  await scanKeys(
    redis,
    `${prefix}*`,
    async (keys) => {
      for (const group of groupBySlot(keys, (k) => k)) deleted += await redis.unlink(...group);
    },
    500,
  );
  return deleted;
}

export async function keysUnder(redis: RedisClient, prefix: string): Promise<string[]> {
  const found: string[] = [];
  await scanKeys(redis, `${prefix}*`, (keys) => void found.push(...keys), 500);
  return found.sort();
}

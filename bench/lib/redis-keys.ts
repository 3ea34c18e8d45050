/** Benchmarks share the Redis at REDIS_URL with everyone else: each run writes under its own prefix and removes it. */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';

export function benchPrefix(name: string): string {
  return `slbench:${name}:${randomUUID().slice(0, 8)}`;
}

/** Deletes every key matching `pattern` (SCAN + UNLINK, never KEYS). */
export async function deleteMatching(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

export function redisUrlFromEnv(): string {
  // Bench plumbing, like the tests' REDIS_URL: the bench is not a sagalane process and has no config of its own.
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/**
 * Makes sure a Redis answers at the configured URL: uses the one that is there, or, on a loopback URL with
 * nothing listening and `redis-server` on PATH, starts one with its data under the data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isClusterUrl, openRedis } from '../lane/redis-connections';
import { redactUrl } from '../logger';

export interface RedisHandle {
  url: string;
  /** True when this process started the server (and so stops it). */
  started: boolean;
  stop(): Promise<void>;
}

export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = openRedis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function ensureRedis(
  url: string,
  dataDir: string,
  log: (l: string) => void,
): Promise<RedisHandle> {
  if (await redisAnswers(url)) return { url, started: false, stop: async () => undefined };
  // What messages and log lines show: REDIS_URL may carry a password.
  const shown = redactUrl(url);
  if (isClusterUrl(url))
    throw new Error(
      `The Redis Cluster at ${shown} does not answer. Start it (npm run redis:cluster starts a local one), ` +
        'or unset REDIS_CLUSTER_NODES to use one Redis at REDIS_URL.',
    );
  const parsed = new URL(url);
  const host = parsed.hostname || '127.0.0.1';
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) {
    throw new Error(`Redis does not answer at ${shown}. Start it, or point REDIS_URL at a running Redis.`);
  }
  const port = Number(parsed.port || 6379);
  const dir = path.join(dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  log(`[sagalane] Nothing answers at ${shown}; starting redis-server on 127.0.0.1:${port} (data in ${dir})`);
  let child: ChildProcess;
  try {
    child = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--appendonly', 'yes', '--save', ''],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (err) {
    throw new Error(
      `Redis does not answer at ${shown} and redis-server could not start: ${(err as Error).message}`,
    );
  }
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) =>
      reject(
        new Error(`Redis does not answer at ${shown} and redis-server is not installed (${err.message}).`),
      ),
    ),
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await Promise.race([redisAnswers(url, 500), spawnError]);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer at ${shown} within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    started: true,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

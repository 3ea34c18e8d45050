/**
 * The shipped worker process (`src/workers/express-worker.ts` run directly): serves the built-in types from the
 * config, exposes /metrics, and drains and exits 0 on SIGTERM. (The autoscaler's pure decision rule has its own
 * unit tests, in autoscaler.test.ts.)
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type Redis from 'ioredis';
import { builtinTaskTypes, ExpressClient } from '../../src/lane';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';

const ROOT = path.resolve(__dirname, '../..');

describe('express worker process', () => {
  const prefix = uniquePrefix('lane-proc');
  let redis: Redis;
  beforeAll(() => {
    redis = redisClient();
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('runs from config, serves tasks and metrics, and exits 0 after draining on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/workers/express-worker.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        REDIS_URL: redisUrl(),
        SAGALANE_KEY_PREFIX: prefix,
        SAGALANE_METRICS_PORT: '0',
        SAGALANE_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let log = '';
    const metricsUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker not ready: ${log}`)), 30_000);
      child.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        const m = /"msg":"Metrics: (http:\/\/[^/ ]+)\/metrics/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const client = new ExpressClient({ types: builtinTaskTypes, redisUrl: redisUrl(), keyPrefix: prefix });
    try {
      const { taskId } = await client.submit({ type: 'echo', payload: { message: 'from the process' } });
      const done = await client.result(taskId, { waitMs: 15_000 });
      expect(done).toMatchObject({ status: 'succeeded', result: { message: 'from the process' } });
      const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
      expect(metrics).toMatch(/sagalane_/);
    } finally {
      await client.close();
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).toMatch(/express worker stopped/);
  }, 60_000);
});

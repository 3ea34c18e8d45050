/**
 * Latency objectives against the real Redis, worker in process: the worker counts each outcome against its type's
 * `sloMs` (a dead letter as a miss), serves the attainment on `/metrics`, and publishes it to Redis every few
 * seconds, so `lane stats` in another process shows the objective and the fleet's attainment, until the worker
 * stops publishing.
 */
import type Redis from 'ioredis';
import { z } from 'zod';
import { defineTaskType, ExpressClient, ExpressWorker } from '../../src/lane';
import { createLogger } from '../../src/logger';
import { formatLaneStats } from '../../src/cli/output';
import { createMetrics } from '../../src/observability/metrics';
import { instrumentExpressWorker } from '../../src/observability/express-instrumentation';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

const quiet = createLogger('error');
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const OBJECTIVE_MS = 150;

const timed = defineTaskType({
  name: 'timed',
  schema: z.object({ ms: z.number(), fail: z.boolean().optional() }),
  handler: async ({ ms, fail }) => {
    await delay(ms);
    if (fail) throw new Error('asked to fail');
    return ms;
  },
  defaults: { lane: 'express', maxAttempts: 1, sloMs: { express: OBJECTIVE_MS } },
});
const plain = defineTaskType({ name: 'plain', schema: z.object({}), handler: async () => null });

describe('latency objectives: attainment in the worker, /metrics and lane stats', () => {
  let redis: Redis;
  const prefix = uniquePrefix('slo');
  let worker: ExpressWorker;
  let client: ExpressClient;

  beforeAll(async () => {
    redis = redisClient();
    client = new ExpressClient({ types: [timed, plain], redisUrl: redisUrl(), keyPrefix: prefix });
    worker = new ExpressWorker({
      types: [timed, plain],
      redisUrl: redisUrl(),
      keyPrefix: prefix,
      logger: quiet,
      autoscaleIntervalMs: 0,
      sloPublishIntervalMs: 100,
    });
    await worker.start();
  });
  afterAll(async () => {
    await worker.stop();
    await client.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });
  jest.setTimeout(30_000);

  it('counts outcomes within the objective, shows them on /metrics and in lane stats, from Redis', async () => {
    // 6 quick tasks (met), 2 that run past the objective and 1 dead letter (missed): 6 of 9.
    const runs = [...Array(6).fill({ ms: 0 }), { ms: 400 }, { ms: 400 }, { ms: 0, fail: true }];
    for (const payload of runs) await client.submitAndWait({ type: 'timed', payload });
    await client.submitAndWait({ type: 'plain', payload: {} });

    expect(worker.sloReadings).toEqual([
      { type: 'timed', lane: 'express', objectiveMs: OBJECTIVE_MS, met: 6, total: 9 },
    ]);

    const metrics = createMetrics({ defaultMetrics: false });
    const detach = instrumentExpressWorker(worker, metrics);
    const text = await metrics.registry.metrics();
    detach();
    expect(text).toContain(
      'sagalane_lane_slo_attainment_ratio{type="timed",lane="express"} 0.6666666666666666',
    );
    expect(text).toContain('sagalane_lane_slo_seconds{type="timed",lane="express"} 0.15');
    expect(text).not.toMatch(/sagalane_lane_slo_\w+\{type="plain"/);

    // A separate reader (another process's client) sees what the worker published: one field per worker.
    const reader = new ExpressClient({ types: [timed, plain], redisUrl: redisUrl(), keyPrefix: prefix });
    try {
      const stats = await waitFor('the published attainment of all 9 outcomes', async () => {
        const s = await reader.stats();
        return s.find((r) => r.type === 'timed' && r.lane === 'express')?.sloTasks === 9 && s;
      });
      const row = stats.find((r) => r.type === 'timed' && r.lane === 'express')!;
      expect(row).toMatchObject({ sloMs: OBJECTIVE_MS, attainment: 6 / 9, sloTasks: 9 });
      expect(stats.find((r) => r.type === 'timed' && r.lane === 'standard')?.sloMs).toBeUndefined();
      expect(stats.find((r) => r.type === 'plain' && r.lane === 'express')?.sloMs).toBeUndefined();
      expect(await redis.hkeys(worker.keys.sloAttainment('timed'))).toEqual([worker.consumerName]);
      expect(await redis.exists(worker.keys.sloAttainment('plain'))).toBe(0);

      const table = formatLaneStats(stats).split('\n');
      expect(table[0]).toMatch(/slo\s+attained\s+\(of\)$/);
      expect(table.find((l) => /^timed\s+express/.test(l))).toMatch(/150 ms\s+66\.6 %\s+\(9\)$/);
      expect(table.find((l) => /^plain\s+express/.test(l))).toMatch(/\s-\s+-$/);
      // Without any objective the table keeps its old columns.
      expect(formatLaneStats(stats.filter((r) => r.type === 'plain'))).not.toMatch(/slo/);

      // A stopped worker stops publishing: its minute drops out of lane stats after 3 of its periods.
      await worker.stop();
      await waitFor('the stopped worker to drop out', async () => {
        const s = await reader.stats(['timed']);
        return s.every((r) => r.sloMs === undefined);
      });
    } finally {
      await reader.close();
    }
  });
});

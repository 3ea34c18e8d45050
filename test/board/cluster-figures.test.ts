/**
 * The board's Done/min, Failed and p95 are the whole fleet's: two express workers (two consumers of one group, as two
 * processes would be) run tasks of one type; each publishes its last minute in one HSET per type every publish
 * period, and the board sums them. Real Redis, real workers; the board data is read directly.
 *
 * The handlers spin until their own clock says 20 ms or 80 ms have passed: a known duration measured by the
 * handler, not a timer standing in for work. Half the tasks are slow, so the p95 of run time is a slow task's: the
 * upper bound of its bucket, 100 ms (80 < 100); 250 when a task's run time also took in the other worker's spin
 * (both workers share this process's event loop, so one's spin can delay the other's start-to-finish by up to 80 ms).
 */
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { BoardData } from '../../src/board/board-data';
import { lanesSection } from '../../src/board/board-html';
import {
  defineTaskType,
  ExpressClient,
  ExpressWorker,
  openLaneConnection,
  type RedisClient,
  type TaskType,
} from '../../src/lane';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/observability';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

const TYPE = 'figures.spin';
const FAST_MS = 20;
const SLOW_MS = 80;

const schema = z.object({ ms: z.number().int().positive(), fail: z.boolean().optional() });
const spinType = defineTaskType({
  name: TYPE,
  schema,
  defaults: { lane: 'express', maxAttempts: 1 },
  handler: async (p: z.output<typeof schema>) => {
    const t0 = performance.now();
    while (performance.now() - t0 < p.ms) {
      // busy: the task's cost is its own measured time
    }
    if (p.fail) throw new Error('cluster-figures test: told to fail');
    return { ranMs: performance.now() - t0 };
  },
}) as TaskType;

describe('board: cluster-wide Done/min, Failed and p95 from the workers’ published windows', () => {
  const redis = redisClient();
  const prefixes: string[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  let conn: RedisClient;

  beforeAll(async () => {
    conn = openLaneConnection(redisUrl(), 'client');
    conn.on('error', () => undefined);
    await conn.connect();
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    for (const p of prefixes) await deleteKeys(redis, p);
    conn.disconnect();
    redis.disconnect();
  });

  function setUp(name: string, types: TaskType[], metrics?: ReturnType<typeof createMetrics>) {
    const prefix = uniquePrefix(`board-figures-${name}`);
    prefixes.push(prefix);
    const express = new ExpressClient({ types, connection: conn, keyPrefix: prefix });
    cleanups.push(() => express.close());
    const data = new BoardData({ express, redis: conn, types, metrics });
    return { prefix, express, data };
  }

  it('sums both workers’ done and failed, reads the p95 from the merged histogram, and ignores a stale worker', async () => {
    const { prefix, express, data } = setUp('two-workers', [spinType]);
    const workers = ['figures-a', 'figures-b'].map(
      (consumerName) =>
        new ExpressWorker({
          types: [spinType],
          redisUrl: redisUrl(),
          keyPrefix: prefix,
          consumerName,
          logger: createLogger('error'),
          // One slot each (no reserve: the type is express only), so both workers take a share of the tasks.
          concurrency: { min: 1, max: 1 },
          expressReserve: 0,
          sloPublishIntervalMs: 500,
        }),
    );
    for (const w of workers) {
      cleanups.push(() => w.stop());
      await w.start();
    }
    // A worker that stopped 20 s ago (3 of its 5 s periods is 15 s): its minute must not count.
    const windowKey = workers[0]!.keys.taskWindow(TYPE);
    await redis.hset(
      windowKey,
      'figures-gone',
      JSON.stringify({
        at: Date.now() - 20_000,
        everyMs: 5000,
        window: {
          express: { done: 1000, failed: 1000, wait: [], run: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1000] },
        },
      }),
    );

    const payloads = [
      ...Array.from({ length: 10 }, () => ({ ms: FAST_MS })),
      ...Array.from({ length: 10 }, () => ({ ms: SLOW_MS })),
      { ms: FAST_MS, fail: true },
      { ms: FAST_MS, fail: true },
    ];
    const ids = await Promise.all(
      payloads.map(async (payload) => (await express.submit({ type: TYPE, payload })).taskId),
    );
    const results = await Promise.all(ids.map((id) => express.result(id, { waitMs: 30_000 })));
    expect(results.filter((r) => r.status === 'succeeded')).toHaveLength(20);

    // Each worker publishes its own minute; both did some of the work.
    const mine = await waitFor(
      'both workers’ published windows with all 22 outcomes',
      async () => {
        const fields = await redis.hgetall(windowKey);
        const fresh = ['figures-a', 'figures-b'].map(
          (c) =>
            (JSON.parse(fields[c] ?? '{}') as { window?: { express?: { done: number; failed: number } } })
              .window?.express,
        );
        const sum = fresh.reduce((n, w) => n + (w?.done ?? 0) + (w?.failed ?? 0), 0);
        return sum === 22 && fresh;
      },
      15_000,
    );
    expect(mine[0]!.done).toBeGreaterThan(0);
    expect(mine[1]!.done).toBeGreaterThan(0);

    const row = (await data.overview()).find((r) => r.type === TYPE && r.lane === 'express')!;
    expect(row).toMatchObject({ figuresScope: 'cluster', publishers: 2, throughputPerMin: 20, failures: 2 });
    expect(row.p95RunMs).toBeGreaterThanOrEqual(SLOW_MS);
    expect([100, 250]).toContain(row.p95RunMs);
    expect(row.p95WaitMs).toBeGreaterThanOrEqual(0);
    const standard = (await data.overview()).find((r) => r.type === TYPE && r.lane === 'standard')!;
    expect(standard).toMatchObject({ figuresScope: 'cluster', throughputPerMin: 0, failures: 0 });
    expect(standard.p95RunMs).toBeUndefined();

    // The page shows the fleet's figures with no "(here)".
    const html = lanesSection([row], {});
    expect(html).toMatch(/data-col="done">20</);
    expect(html).toMatch(/data-col="failed">2</);
    expect(html).not.toContain('(here)</abbr></td>');
  }, 60_000);

  it('falls back to this process’s figures, labelled (here), where no worker publishes a window', async () => {
    // A type served only by workers of an older version: nothing in its window hash, only this process's metrics.
    const oldType = defineTaskType({
      name: 'figures.old',
      schema,
      defaults: { lane: 'express' },
      handler: async () => ({}),
    }) as TaskType;
    const metrics = createMetrics();
    const { data } = setUp('fallback', [oldType], metrics);
    await data.overview(); // the process window's first sample
    metrics.express.succeeded.inc({ type: 'figures.old', lane: 'express' }, 30);
    const row = await waitFor(
      'a process-local figure',
      async () => {
        const r = (await data.overview()).find((x) => x.type === 'figures.old' && x.lane === 'express')!;
        return (r.throughputPerMin ?? 0) > 0 && r;
      },
      10_000,
      200,
    );
    expect(row.figuresScope).toBe('process');
    expect(row.publishers).toBeUndefined();
    expect(lanesSection([row], {})).toMatch(/data-col="done">\d+ <abbr[^>]*>\(here\)<\/abbr>/);
  }, 30_000);
});

/**
 * A worker's janitor against the real Redis when another type's keys are bad: a retry member no worker wrote (a JSON
 * `null` payload) is dead-lettered with its reason, a stream whose delayed key is of the wrong type is reported as a
 * `janitor:error` and counted in `sagalane_janitor_errors_total`, and neither stops the sweep of the healthy type,
 * whose orphan (an entry a dead consumer held) is reclaimed and run. Before, either bad key made the whole SWEEP call
 * raise, so the orphan was never handed to a worker.
 */
import type Redis from 'ioredis';
import { z } from 'zod';
import { defineTaskType, ExpressClient, ExpressWorker, type TaskType } from '../../src/lane';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/observability/metrics';
import { instrumentExpressWorker } from '../../src/observability/express-instrumentation';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

const GROUP = 'sagalane-workers';

describe('the janitor with bad keys beside healthy ones', () => {
  let redis: Redis;
  const prefix = uniquePrefix('janitor-errors');
  let client: ExpressClient;
  let worker: ExpressWorker | undefined;

  const typeNamed = (name: string): TaskType =>
    defineTaskType({
      name,
      schema: z.object({ n: z.number() }),
      handler: async ({ n }) => ({ doubled: n * 2 }),
      defaults: { lane: 'standard' },
    });
  const types = [typeNamed('healthy'), typeNamed('nullretry'), typeNamed('wrongtype')];

  beforeAll(() => {
    redis = redisClient();
    client = new ExpressClient({ types, redisUrl: redisUrl(), keyPrefix: prefix });
  });
  afterAll(async () => {
    await worker?.stop();
    await client.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('dead-letters the bad member, reports the broken stream, and still reclaims the healthy orphan', async () => {
    const keys = client.keys;
    for (const t of types)
      await redis.call('XGROUP', 'CREATE', keys.stream(t.name, 'standard'), GROUP, '0', 'MKSTREAM');
    // An orphan: submitted, read by a consumer that then died holding it.
    const { taskId: orphan } = await client.submit({ type: 'healthy', payload: { n: 21 } });
    await redis.xreadgroup(
      'GROUP',
      GROUP,
      'ghost',
      'COUNT',
      10,
      'STREAMS',
      keys.stream('healthy', 'standard'),
      '>',
    );
    // A due retry member with a JSON null payload (what the audit wrote by hand), and a delayed key that is a string.
    const victim = 'nullretry:00000000-0000-0000-0000-000000000001';
    const nullMember = JSON.stringify({
      id: victim,
      payload: null,
      attempt: '2',
      max: '3',
      timeout: '1000',
      at: '1',
    });
    await redis.zadd(keys.delayed('nullretry', 'standard'), 1, nullMember);
    await redis.set(keys.delayed('wrongtype', 'standard'), 'not a zset');

    const metrics = createMetrics();
    worker = new ExpressWorker({
      types,
      redisUrl: redisUrl(),
      keyPrefix: prefix,
      logger: createLogger('silent'),
      minIdleMs: 200,
      janitorIntervalMs: 50,
      autoscaleIntervalMs: 0,
    });
    instrumentExpressWorker(worker, metrics);
    const errors: { stage: string; type?: string; error: string }[] = [];
    worker.on('janitor:error', (e) => errors.push(e));
    await worker.start();

    const done = await client.result(orphan, { waitMs: 20_000 });
    expect({ status: done.status, result: done.result }).toEqual({
      status: 'succeeded',
      result: { doubled: 42 },
    });
    await waitFor('a janitor:error naming the broken stream', () =>
      errors.find((e) => e.stage === 'promote' && e.type === 'wrongtype'),
    );
    expect(errors.filter((e) => e.type !== 'wrongtype')).toEqual([]);
    expect(errors[0]!.error).toMatch(/WRONGTYPE/);
    const counted = await metrics.registry.getSingleMetric('sagalane_janitor_errors_total')!.get();
    const promoteErrors = counted.values.find((v) => v.labels.stage === 'promote')?.value ?? 0;
    expect(promoteErrors).toBeGreaterThanOrEqual(1);

    // The member with the null payload is a dead letter with its reason; nothing is left in that zset.
    expect(await redis.zcard(keys.delayed('nullretry', 'standard'))).toBe(0);
    const letters = (await redis.xrange(keys.deadLetters('nullretry', 'standard'), '-', '+')) as [
      string,
      string[],
    ][];
    expect(letters.map(([, f]) => [f[f.indexOf('reason') + 1], f[f.indexOf('error') + 1]])).toContainEqual([
      'malformed-retry',
      'delayed retry member has no string payload',
    ]);
  });
});

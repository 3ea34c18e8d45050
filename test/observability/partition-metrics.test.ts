/**
 * Metrics of a partitioned task type (src/lane/partitions.ts) count per type, not per partition stream: a type
 * split into 3 partitions has one `type="hot"` series per lane, as its stream gauges and the dashboard expect.
 */
import { z } from 'zod';
import { defineTaskType, ExpressClient, ExpressWorker, type TaskType } from '../../src/lane';
import { createLogger } from '../../src/logger';
import { createMetrics, instrumentExpressClient, instrumentExpressWorker } from '../../src/observability';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';

describe('metrics of a partitioned task type', () => {
  const redis = redisClient();
  const prefix = uniquePrefix('partition-metrics');
  const hot = defineTaskType({
    name: 'hot',
    schema: z.object({ n: z.number().int() }),
    handler: async ({ n }) => ({ n }),
    defaults: { partitions: 3, lane: 'standard' },
  });
  const types: TaskType[] = [hot as TaskType];
  const client = new ExpressClient({ types, redisUrl: redisUrl(), keyPrefix: prefix });
  const worker = new ExpressWorker({
    types,
    redisUrl: redisUrl(),
    keyPrefix: prefix,
    logger: createLogger('silent'),
    blockMs: 200,
  });

  afterAll(async () => {
    await worker.stop();
    await client.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('labels the tasks of every partition with the type', async () => {
    const metrics = createMetrics();
    instrumentExpressWorker(worker, metrics);
    instrumentExpressClient(client, metrics, { streamStats: false });
    await worker.start();
    const submitted = await client.submitMany(
      Array.from({ length: 9 }, (_, n) => ({ type: 'hot', payload: { n } })),
    );
    await Promise.all(submitted.map((s) => client.result(s.taskId, { waitMs: 30_000 })));
    const text = await metrics.registry.metrics();
    expect(text).not.toMatch(/type="hot~\d+"/);
    const series = (name: string) =>
      text.split('\n').filter((l) => l.startsWith(`${name}{`) && l.includes('lane="standard"'));
    expect(series('sagalane_express_tasks_started_total')).toEqual([
      'sagalane_express_tasks_started_total{type="hot",lane="standard"} 9',
    ]);
    expect(series('sagalane_express_tasks_succeeded_total')).toEqual([
      'sagalane_express_tasks_succeeded_total{type="hot",lane="standard"} 9',
    ]);
  });
});

/**
 * An express-priority saga started while the standard lane holds a backlog of 5,000 long tasks finishes as fast as
 * on an idle lane (within 2×): its steps go on the express lane, which lane workers read first and keep a reserved
 * slot for. The lane worker is a real process (its event loop is not the test's); a standard-priority saga started
 * at the same time is still waiting for its first step afterwards, which shows the backlog is real.
 */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { ExpressClient } from '../../src/lane/express-client';
import { defineTaskType } from '../../src/lane/task-types';
import { z } from 'zod';
import { pipelineWorkflowId, type PipelineInput } from '../../src/workflows/research/pipeline-contract';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  type TemporalTestContext,
} from '../helpers/temporal';
import { queryState, startPipeline } from '../sagas/saga-test-kit';
import {
  spawnStepWorker,
  startDispatchingSagaWorker,
  stepClient,
  type SpawnedProcess,
} from '../dispatch/dispatch-kit';

const BACKLOG = 5_000;
const BULK_MS = 2_000;
const RUNS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('express-priority saga behind a standard-lane backlog', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  let steps: ExpressClient;
  let bulk: ExpressClient;
  let laneWorker: SpawnedProcess;
  const prefix = uniquePrefix('dispatch-priority');
  const taskQueue = uniqueTaskQueue('dispatch-priority');

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
    steps = stepClient(prefix);
    bulk = new ExpressClient({
      types: [
        defineTaskType({
          name: 'bulk',
          schema: z.object({ n: z.number() }),
          handler: async () => undefined,
        }),
      ],
      redisUrl: redisUrl(),
      keyPrefix: prefix,
    });
    await startDispatchingSagaWorker(ctx, taskQueue, steps);
    laneWorker = await spawnStepWorker({
      prefix,
      consumer: 'priority-lane',
      temporalAddress: temporalAddress(),
      concurrency: 8,
      bulkMs: BULK_MS,
    });
  }, 120_000);

  afterAll(async () => {
    await laneWorker?.kill9();
    await ctx?.closeAll();
    await steps?.close();
    await bulk?.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  async function timedSaga(priority: PipelineInput['priority'], label: string): Promise<number> {
    const symbol = `PRIO${label}`;
    const started = Date.now();
    const handle = await startPipeline(
      ctx.client,
      taskQueue,
      { idea: `priority ${label}`, symbol, priority, timeoutMs: 120_000 },
      { workflowId: pipelineWorkflowId(symbol, randomUUID()) },
    );
    await handle.result();
    return Date.now() - started;
  }

  it('finishes within 2x of its idle-lane time while 5,000 long standard tasks wait', async () => {
    const idle: number[] = [];
    for (let i = 0; i < RUNS; i++) idle.push(await timedSaga('express', `IDLE${i}`));

    await bulk.submitMany(
      Array.from({ length: BACKLOG }, (_, n) => ({
        type: 'bulk',
        lane: 'standard' as const,
        payload: { n },
      })),
    );
    // The standard slots are full of bulk work and thousands wait behind them.
    const [standardStats] = await bulk.stats(['bulk']).then((s) => s.filter((r) => r.lane === 'standard'));
    expect(standardStats!.length).toBeGreaterThan(BACKLOG - 100);

    const standardSaga = await startPipeline(
      ctx.client,
      taskQueue,
      { idea: 'priority standard', symbol: 'PRIOSTD', timeoutMs: 600_000 },
      { workflowId: pipelineWorkflowId('PRIOSTD', randomUUID()) },
    );
    const loaded: number[] = [];
    for (let i = 0; i < RUNS; i++) loaded.push(await timedSaga('express', `BUSY${i}`));
    expect((await queryState(standardSaga)).currentStep).toBe('reasoning');
    await standardSaga.terminate('test over');

    const [after] = await bulk.stats(['bulk']).then((s) => s.filter((r) => r.lane === 'standard'));
    expect(after!.length).toBeGreaterThan(BACKLOG - 200); // the backlog was there the whole time
    process.stderr.write(
      `express saga: idle median ${median(idle)} ms (${idle.join(', ')}), behind ${BACKLOG} standard tasks ` +
        `median ${median(loaded)} ms (${loaded.join(', ')}); ratio ${(median(loaded) / median(idle)).toFixed(2)}\n`,
    );
    expect(median(loaded)).toBeLessThanOrEqual(2 * median(idle));
  }, 280_000);
});

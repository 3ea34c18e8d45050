/** `startSagaWorker` as `sagalane dev` uses it, and the worker's process entry point. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { SagaWorkerSetupError, startSagaWorker } from '../../src/runtime/saga-worker';
import { createTestPipelineActivities } from '../fixtures/test-activities';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  workflowBundlePath,
  type TemporalTestContext,
} from '../helpers/temporal';
import type { PipelineResult } from '../../src/workflows/research/pipeline-contract';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { queryState, recordingSinks, startPipeline, type SinkEvent } from './saga-test-kit';

const ROOT = path.resolve(__dirname, '..', '..');

describe('saga worker', () => {
  let ctx: TemporalTestContext;
  beforeAll(async () => {
    ctx = await temporalTestContext();
  });
  afterAll(async () => {
    await ctx.closeAll();
  });

  it('runs sagas in process with injected agents and sinks, and stops cleanly (twice is fine)', async () => {
    const taskQueue = uniqueTaskQueue('saga-worker');
    const events: SinkEvent[] = [];
    const { activities, calls } = createTestPipelineActivities();
    const handle = await startSagaWorker({
      config: loadConfig({}),
      address: temporalAddress(),
      taskQueue,
      activities,
      sinks: recordingSinks(events),
      workflowBundlePath: workflowBundlePath(),
      logger: createLogger('silent'),
    });
    try {
      const saga = await startPipeline(ctx.client, taskQueue, { idea: 'in-process worker', symbol: 'DEV' });
      await saga.result();
      expect((await queryState(saga)).state).toBe('completed');
      expect(calls.map((c) => c.name)).toEqual(['reasoning', 'codegen', 'ml', 'backtest']);
      expect(events.filter((e) => e.name === 'sagaEnded').map((e) => e.event.outcome)).toEqual(['completed']);
    } finally {
      await handle.stop();
    }
    await handle.stop();
    expect(handle.worker.getState()).toBe('STOPPED');
  });

  it('uses the real agents when none are given and dispatch is inline, on the configured key prefix', async () => {
    const taskQueue = uniqueTaskQueue('saga-worker-real');
    const keyPrefix = uniquePrefix('saga-worker-real');
    const redis = redisClient();
    const handle = await startSagaWorker({
      // Inline: the agents run in this worker (the default, lane, needs a lane worker: test/dispatch).
      config: loadConfig({
        SAGALANE_KEY_PREFIX: keyPrefix,
        REDIS_URL: redisUrl(),
        SAGALANE_STEP_DISPATCH: 'inline',
      }),
      address: temporalAddress(),
      taskQueue,
      sinks: recordingSinks([]),
      workflowBundlePath: workflowBundlePath(),
      logger: createLogger('silent'),
    });
    try {
      const saga = await startPipeline(ctx.client, taskQueue, { idea: 'momentum breakout', symbol: 'TREND' });
      const result = (await saga.result()) as PipelineResult;
      expect(result.artifacts.report.startsWith(`${keyPrefix}:`)).toBe(true);
      expect(await redis.exists(result.artifacts.report)).toBe(1);
    } finally {
      await handle.stop();
      await deleteKeys(redis, keyPrefix);
      redis.disconnect();
    }
  });

  it('fails fast with a clear message when there is no Temporal address', async () => {
    await expect(
      startSagaWorker({
        config: loadConfig({}),
        activities: createTestPipelineActivities().activities,
        logger: createLogger('silent'),
      }),
    ).rejects.toThrow(SagaWorkerSetupError);
  });

  it('as a process, refuses to start without TEMPORAL_ADDRESS or --address (exit 2)', async () => {
    const env = { ...process.env };
    delete env.TEMPORAL_ADDRESS;
    const result = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/workers/saga-worker.ts'],
      {
        cwd: ROOT,
        env,
      },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('TEMPORAL_ADDRESS');
  });
});

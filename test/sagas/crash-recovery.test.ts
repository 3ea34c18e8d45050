/**
 * A worker process dies with SIGKILL in the middle of a step; a new process takes over. Executions are counted in
 * Redis by the agents themselves, so the count survives the dead process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type Redis from 'ioredis';
import { recordedCalls, releaseStep, type PipelineScenario } from '../fixtures/test-activities';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import type { PipelineResult } from '../../src/workflows/research/pipeline-contract';
import { queryState, startPipeline } from './saga-test-kit';

const ROOT = path.resolve(__dirname, '..', '..');
const WORKER_SCRIPT = path.join(ROOT, 'test', 'fixtures', 'saga-worker-process.ts');

interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/** Spawns one real worker process (plain `node --import tsx`, so the pid we kill is the worker itself). */
async function spawnWorker(
  taskQueue: string,
  keyPrefix: string,
  scenario: PipelineScenario,
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
    cwd: ROOT,
    env: {
      ...process.env,
      SAGA_TEST_TASK_QUEUE: taskQueue,
      SAGA_TEST_KEY_PREFIX: keyPrefix,
      SAGA_TEST_SCENARIO: JSON.stringify(scenario),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    // Starting `node --import tsx` took over 30 s on the shared 2-core box at load average ~40.
    const timer = setTimeout(() => reject(new Error(`worker process not ready in 90 s:\n${output}`)), 90_000);
    child.stdout!.on('data', () => {
      if (output.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (${code}) before it was ready:\n${output}`));
    });
  });
  return { child, exited, output: () => output };
}

describe('saga crash recovery with real worker processes', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  const keyPrefix = uniquePrefix('saga-crash');
  const spawned: WorkerProcess[] = [];

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
  });
  afterAll(async () => {
    for (const w of spawned)
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await Promise.all(spawned.map((w) => w.exited));
    await ctx.closeAll();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  jest.setTimeout(300_000);

  it('resumes on a new worker after kill -9 mid-step: finished steps are not re-run, the interrupted one is retried', async () => {
    const taskQueue = uniqueTaskQueue('saga-crash');
    const scenario: PipelineScenario = { blockAt: 'ml' };
    const first = await spawnWorker(taskQueue, keyPrefix, scenario);
    spawned.push(first);

    const handle = await startPipeline(ctx.client, taskQueue, { idea: 'survive a crash', symbol: 'CRASH' });
    await waitFor('ml to start on the first worker', async () => {
      const calls = await recordedCalls(redis, keyPrefix, handle.workflowId);
      return calls.some((c) => c.name === 'ml');
    });

    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    // The retried ml attempt may finish now; the replacement worker has never seen this saga.
    await releaseStep(redis, keyPrefix, handle.workflowId);
    const second = await spawnWorker(taskQueue, keyPrefix, scenario);
    spawned.push(second);

    const result = (await handle.result()) as PipelineResult;
    expect(result.artifacts.report).toContain(handle.workflowId);
    const calls = await recordedCalls(redis, keyPrefix, handle.workflowId);
    expect(calls.map((c) => `${c.name}#${c.attempt}`)).toEqual([
      'reasoning#1',
      'codegen#1',
      'ml#1',
      // Attempt 1 died with its worker; the server noticed the missing heartbeats and retried it on the new one.
      'ml#2',
      'backtest#1',
    ]);
    const state = await queryState(handle);
    expect(state.state).toBe('completed');
    expect(state.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'reasoning:completed',
      'codegen:completed',
      'ml:completed',
      'backtest:completed',
    ]);

    // The replacement worker shuts down gracefully on SIGTERM.
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(second.output()).toContain('stopped');
  });
});

/**
 * The `sagalane` CLI end to end, as a user runs it: a spawned `sagalane …` process (from the sources) against the real dev
 * server and Redis, with the real saga worker (real agents) and express worker serving this file's own task queue
 * and key prefix.
 */
import { spawn } from 'node:child_process';
import { DEFAULT_TASK_SCHEMAS } from '../../src/client/front-door';
import { ExpressClient } from '../../src/lane/express-client';
import { deleteKeys, uniquePrefix } from '../helpers/redis';
import type { PipelineStateView } from '../../src/workflows/research/pipeline-contract';
import type { SagaPage, SagaSummary } from '../../src/client/saga-client';
import type { TaskInfo } from '../../src/lane/express-client';
import {
  cliPath,
  pollUntil,
  repoRoot,
  runSagalane,
  startFrontStack,
  nodeBin,
  type FrontStack,
} from './front-kit';

const sagalane = runSagalane;
// Spawned CLI processes on the shared 2-core machine: starting one can take tens of seconds under load.
jest.setTimeout(240_000);

describe('sagalane CLI', () => {
  let stack: FrontStack;
  beforeAll(async () => {
    stack = await startFrontStack('front-cli');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('pipeline start --wait --json ends completed and prints the state query shape', async () => {
    const run = await sagalane(stack.env, [
      'pipeline',
      'start',
      '--idea',
      'trend following with moving averages',
      '--symbol',
      'DEMO',
      '--wait',
      '--json',
    ]);
    expect(run.stderr).not.toContain('sagalane:');
    expect(run.code).toBe(0);
    const state = JSON.parse(run.stdout) as PipelineStateView;
    expect(state.state).toBe('completed');
    expect(state.sagaId).toMatch(/^pipeline-DEMO-/);
    expect(state.steps.map((s) => s.name)).toEqual(['reasoning', 'codegen', 'ml', 'backtest']);
    expect(Number.isFinite(state.result!.metrics.sharpe)).toBe(true);
    // Progress went to stderr, one JSON document to stdout.
    expect(run.stderr).toContain(`${state.sagaId}: `);

    const text = await sagalane(stack.env, ['saga', 'get', state.sagaId]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('state: completed');
    expect(text.stdout).toMatch(/step backtest\s+completed/);
  });

  it('a missing data set rolls back: non-zero exit, reason on stderr, and saga list --state rolled_back finds it', async () => {
    const run = await sagalane(stack.env, [
      'pipeline',
      'start',
      '--idea',
      'mean reversion on data that does not exist',
      '--symbol',
      'DEMO',
      '--dataset',
      'NO_SUCH_DATASET',
      '--id',
      `cli-rollback-${Date.now()}`,
      '--wait',
      '--json',
    ]);
    expect(run.code).toBe(1);
    const state = JSON.parse(run.stdout) as PipelineStateView;
    expect(state.state).toBe('rolled_back');
    expect(state.error).toMatchObject({ step: 'ml', reason: 'step_failed' });
    expect(run.stderr).toContain(`saga ${state.sagaId} ended rolled_back at step ml`);

    // Visibility is updated asynchronously: ask until the saga shows up.
    const page = await pollUntil(
      async () => {
        const list = await sagalane(stack.env, ['saga', 'list', '--state', 'rolled_back', '--json']);
        expect(list.code).toBe(0);
        return JSON.parse(list.stdout) as SagaPage<SagaSummary>;
      },
      (p) => p.items.some((s) => s.sagaId === state.sagaId),
      20_000,
      500,
    );
    const listed = page.items.find((s) => s.sagaId === state.sagaId)!;
    expect(listed).toMatchObject({ state: 'rolled_back', symbol: 'DEMO', status: 'FAILED' });
    expect(page.items.every((s) => s.state === 'rolled_back')).toBe(true);
  });

  it('task submit --wait --json returns the result', async () => {
    const run = await sagalane(stack.env, [
      'task',
      'submit',
      '--type',
      'echo',
      '--payload',
      '{"message":"hello from the CLI"}',
      '--wait',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const info = JSON.parse(run.stdout) as TaskInfo;
    expect(info).toMatchObject({
      type: 'echo',
      status: 'succeeded',
      result: { message: 'hello from the CLI' },
    });

    const got = await sagalane(stack.env, ['task', 'get', info.taskId, '--json']);
    expect(JSON.parse(got.stdout)).toMatchObject({ taskId: info.taskId, status: 'succeeded' });
  });

  it('fails with the reason on stderr: bad pipeline input (before connecting) and a bad task payload', async () => {
    const badInput = await sagalane(stack.env, [
      'pipeline',
      'start',
      '--idea',
      'x',
      '--symbol',
      'no spaces!',
    ]);
    expect(badInput.code).toBe(1);
    expect(badInput.stdout).toBe('');
    expect(badInput.stderr).toContain('Invalid pipeline input: idea:');
    expect(badInput.stderr).toContain('symbol: symbol must be 1-20 letters');

    const badPayload = await sagalane(stack.env, [
      'task',
      'submit',
      '--type',
      'hash',
      '--payload',
      '{"rounds":0}',
    ]);
    expect(badPayload.code).toBe(1);
    expect(badPayload.stderr).toContain('Invalid payload for task type "hash"');
  });

  it('worker express runs a worker process with health endpoints and drains on SIGTERM', async () => {
    // Its own key prefix, so only the spawned worker can take the task.
    const keyPrefix = uniquePrefix('front-cli-worker');
    const child = spawn(nodeBin, [cliPath, 'worker', 'express'], {
      cwd: repoRoot,
      env: { ...stack.env, SAGALANE_KEY_PREFIX: keyPrefix, SAGALANE_METRICS_PORT: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const express = new ExpressClient({
      types: DEFAULT_TASK_SCHEMAS,
      redisUrl: stack.config.redisUrl,
      keyPrefix,
    });
    try {
      await pollUntil(
        async () => stderr,
        (s) => /running; Ctrl-C/.test(s) || child.exitCode !== null,
        120_000,
        100,
      );
      const metrics = /Metrics: (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(stderr)?.[1];
      expect(metrics).toBeDefined();
      const ready = await fetch(`${metrics}/readyz`);
      expect(ready.status).toBe(200);
      const { taskId } = await express.submit({
        type: 'echo',
        payload: { message: 'to the worker process' },
      });
      const info = await express.result(taskId, { waitMs: 20_000 });
      expect(info).toMatchObject({ status: 'succeeded', result: { message: 'to the worker process' } });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await express.close();
      await deleteKeys(stack.redis, keyPrefix);
    }
  });
});

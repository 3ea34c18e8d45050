/**
 * kill -9 of the saga worker with 50 sagas in flight: 20 are inside ml, 20 inside backtest and 10 (which will fail
 * in backtest and roll back) inside ml when the only worker is SIGKILLed; a new worker process takes over.
 * Invariant: every saga ends as it should (completed, or rolled_back with each compensation run once) and no step
 * that had finished before the kill runs again; only the interrupted step is retried.
 */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { WorkflowHandle } from '@temporalio/client';
import {
  RESEARCH_PIPELINE_WORKFLOW,
  pipelineWorkflowId,
  type PipelineTuning,
} from '../../src/workflows/research/pipeline-contract';
import { stateQuery } from '../../src/workflows/saga-contract';
import { recordedCalls, releaseStep } from '../fixtures/test-activities';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  type TemporalTestContext,
} from '../helpers/temporal';
import { figure, killHard, spawnTs, waitFor, type ChildHandle } from './reliability-kit';

const TUNING: PipelineTuning = {
  heartbeatTimeoutMs: 2_000,
  retryInitialIntervalMs: 50,
  compensationMaximumAttempts: 3,
};

const EXPECTED_CALLS = {
  BLOCKML: ['reasoning#1', 'codegen#1', 'ml#1', 'ml#2', 'backtest#1'],
  BLOCKBT: ['reasoning#1', 'codegen#1', 'ml#1', 'backtest#1', 'backtest#2'],
  ROLLBACK: [
    'reasoning#1',
    'codegen#1',
    'ml#1',
    'ml#2',
    'backtest#1',
    'compensateMl#1',
    'compensateCodegen#1',
    'compensateReasoning#1',
  ],
} as const;
type Kind = keyof typeof EXPECTED_CALLS;
const BLOCKED_STEP: Record<Kind, string> = { BLOCKML: 'ml', BLOCKBT: 'backtest', ROLLBACK: 'ml' };

describe('saga worker killed with SIGKILL while 50 sagas are in flight', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  const keyPrefix = uniquePrefix('rel-saga-kill');
  const taskQueue = uniqueTaskQueue('rel-saga-kill');
  const workers: ChildHandle[] = [];

  const spawnWorker = (name: string) =>
    spawnTs(name, 'test/fixtures/saga-worker-process.ts', {
      SAGALANE_TEST_TEMPORAL_ADDRESS: temporalAddress(),
      SAGA_TEST_TASK_QUEUE: taskQueue,
      SAGA_TEST_KEY_PREFIX: keyPrefix,
      SAGA_TEST_SCENARIO: 'by-symbol',
      REDIS_URL: redisUrl(),
    }).then((w) => {
      workers.push(w);
      return w;
    });

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => killHard(w)));
    await ctx.closeAll();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  it('ends every saga correctly and re-runs no finished step', async () => {
    const started = Date.now();
    const first = await spawnWorker('saga worker 1');
    const kinds: Kind[] = [
      ...Array<Kind>(20).fill('BLOCKML'),
      ...Array<Kind>(20).fill('BLOCKBT'),
      ...Array<Kind>(10).fill('ROLLBACK'),
    ];
    const sagas: { kind: Kind; handle: WorkflowHandle }[] = await Promise.all(
      kinds.map(async (kind, i) => {
        const symbol = `${kind}${i}`;
        const handle = await ctx.client.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
          taskQueue,
          workflowId: pipelineWorkflowId(symbol, randomUUID()),
          args: [{ idea: `reliability saga ${i}`, symbol }, TUNING],
        });
        return { kind, handle };
      }),
    );
    await waitFor(
      'all 50 sagas to be inside their blocked step',
      async () => {
        const inside = await Promise.all(
          sagas.map(async ({ kind, handle }) =>
            (await recordedCalls(redis, keyPrefix, handle.workflowId)).some(
              (c) => c.name === BLOCKED_STEP[kind],
            ),
          ),
        );
        return inside.every(Boolean) ? true : undefined;
      },
      60_000,
      200,
    );

    await killHard(first);
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await Promise.all(sagas.map(({ handle }) => releaseStep(redis, keyPrefix, handle.workflowId)));
    await spawnWorker('saga worker 2');

    const outcomes = await Promise.all(
      sagas.map(async ({ kind, handle }) => {
        let outcome: 'completed' | 'failed';
        try {
          await handle.result();
          outcome = 'completed';
        } catch {
          outcome = 'failed';
        }
        const state = await handle.query(stateQuery);
        const calls = (await recordedCalls(redis, keyPrefix, handle.workflowId)).map(
          (c) => `${c.name}#${c.attempt}`,
        );
        return { kind, outcome, state: state.state, calls };
      }),
    );
    const reRunFinished = outcomes.reduce((sum, o) => {
      const finishedBeforeKill =
        o.kind === 'BLOCKBT' ? ['reasoning', 'codegen', 'ml'] : ['reasoning', 'codegen'];
      return (
        sum +
        o.calls.filter((c) => finishedBeforeKill.some((s) => c.startsWith(`${s}#`)) && !c.endsWith('#1'))
          .length
      );
    }, 0);
    figure('saga worker kill -9', {
      sagas: outcomes.length,
      completed: outcomes.filter((o) => o.state === 'completed').length,
      rolled_back: outcomes.filter((o) => o.state === 'rolled_back').length,
      finished_steps_rerun: reRunFinished,
      seconds: ((Date.now() - started) / 1000).toFixed(1),
    });

    for (const o of outcomes) {
      const expected =
        o.kind === 'ROLLBACK'
          ? { outcome: 'failed', state: 'rolled_back' }
          : { outcome: 'completed', state: 'completed' };
      expect({ kind: o.kind, outcome: o.outcome, state: o.state, calls: o.calls }).toEqual({
        kind: o.kind,
        ...expected,
        calls: EXPECTED_CALLS[o.kind],
      });
    }
    expect(reRunFinished).toBe(0);
  });
});

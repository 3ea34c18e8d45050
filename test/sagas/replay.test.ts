/**
 * Determinism guard: histories of real sagas (committed under test/fixtures/histories) must replay against the
 * current workflow code. A change that reorders steps, adds an activity or timer without `patched()`, … fails here
 * instead of in production, where it would wedge every running saga.
 *
 * Record a history that is missing (a new shape): `SAGALANE_WRITE_SAGA_HISTORIES=1 npx jest test/sagas/replay.test.ts`.
 * Rewrite all of them (only after a change that running sagas cannot meet, e.g. a new major version):
 * `SAGALANE_WRITE_SAGA_HISTORIES=all …`. Keep old histories otherwise: they prove that sagas started by older code
 * still replay (the `patched()` branches).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
// @temporalio/proto comes with @temporalio/client; its History type turns the stored JSON back into a proto message.
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type Redis from 'ioredis';
import {
  createFeatureActivities,
  createTestPipelineActivities,
  type PipelineScenario,
} from '../fixtures/test-activities';
import type { FeatureSagaInput } from '../fixtures/test-workflows';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';
import {
  temporalTestContext,
  uniqueTaskQueue,
  workflowBundlePath,
  type TemporalTestContext,
} from '../helpers/temporal';
import { createLogger } from '../../src/logger';
import { createLogSagaSinks } from '../../src/runtime/saga-worker';
import { LOCAL_STEP_CANDIDATES } from '../../src/activities/research/contracts';
import { pipelineWorkflowId } from '../../src/workflows/research/pipeline-contract';
import { approveUpdate, cancelUpdate, rejectUpdate } from '../../src/workflows/saga-contract';
import { failureOf, startPipeline, waitForState } from './saga-test-kit';

// Sinks are not called during replay, but a worker must know every sink the workflow names.
const sinks = createLogSagaSinks(createLogger('silent'));
const HISTORIES_DIR = path.resolve(__dirname, '..', 'fixtures', 'histories');
/**
 * Pipeline histories recorded before `patched('sagalane-fewer-commands-v1')`, newer shapes recorded after it, one
 * with the fewer-commands, local-steps and plan-cache-v3 patches whose plan came from the cache (a local activity),
 * and the same saga recorded with the one patch that stands for all three (`SAGA_V2_PATCH`). The `v2-` shapes
 * after it were recorded by that version with in-worker agents (codegen and the compensations as local activities):
 * they pin the order of its coalesced search-attribute upserts among the other commands, so a change to how the
 * Saga helper waits (fewer promises, scopes) cannot move a command unnoticed.
 */
const SAGAS = [
  'completed',
  'rolled-back',
  'compensation-failed',
  'cancelled',
  'approval-approved',
  'parallel-rolled-back',
  'plan-cache-hit',
  'v2-plan-cache-hit',
  'v2-completed',
  'v2-rolled-back',
  'v2-compensation-failed',
  'v2-cancelled',
  'v2-approval-approved',
  'v2-approval-rejected',
] as const;
/** Kinds recorded with a worker that runs codegen and the compensations as local activities: the v2 shapes after it. */
const WITH_LOCAL_STEPS = new Set<SagaKind>(
  SAGAS.filter((kind) => kind.startsWith('v2-') && kind !== 'v2-plan-cache-hit'),
);
type SagaKind = (typeof SAGAS)[number];
const historyFile = (kind: SagaKind) =>
  path.join(
    HISTORIES_DIR,
    kind === 'parallel-rolled-back'
      ? 'feature-saga-parallel-rolled-back.json'
      : `research-pipeline-${kind}.json`,
  );
/** A parallel group whose last branch fails while another still runs (cancelled) and one has finished. */
const PARALLEL_SAGA: FeatureSagaInput = {
  ops: [
    { kind: 'step', name: 'prepare' },
    {
      kind: 'parallel',
      name: 'fan-out',
      branches: [
        [{ kind: 'step', name: 'finished-branch' }],
        [{ kind: 'step', name: 'running-branch', behaviour: 'hold' }],
        [
          { kind: 'step', name: 'slow', behaviour: 'slow' },
          { kind: 'step', name: 'failing', behaviour: 'fail' },
        ],
      ],
    },
  ],
};

function loadHistories() {
  return SAGAS.map((kind) => ({
    workflowId: `replay-${kind}`,
    history: temporal.api.history.v1.History.fromObject(
      JSON.parse(fs.readFileSync(historyFile(kind), 'utf8')),
    ),
  }));
}

/** Runs one saga of each missing kind (or every kind with `all`) on the dev server and writes its history as JSON. */
async function writeHistories(ctx: TemporalTestContext, redis: Redis, keyPrefix: string): Promise<void> {
  const rewriteAll = process.env.SAGALANE_WRITE_SAGA_HISTORIES === 'all';
  const scenarios = new Map<string, PipelineScenario>();
  const taskQueue = uniqueTaskQueue('saga-replay');
  const { activities } = createTestPipelineActivities({
    redis,
    keyPrefix,
    scenarioFor: (id) => scenarios.get(id) ?? {},
  });
  // The plan-cache lookup answers for the plan-cache-hit saga only (the others were recorded before it existed).
  const cachedPlan = async (input: { sagaId: string; idea: string; symbol: string }) =>
    input.idea === 'replay plan-cache-hit' || input.idea === 'replay v2-plan-cache-hit'
      ? {
          plan: {
            family: 'ma_crossover' as const,
            parameterRanges: { fast: { min: 2, max: 4, step: 1 }, slow: { min: 10, max: 20, step: 5 } },
            rationale: `cached test plan for ${input.symbol}`,
            provider: 'test',
          },
          cacheKey: 'test-plan:cached',
          cached: true,
        }
      : null;
  // Sagas are recorded one after the other, so the answer can follow the kind being recorded.
  let localStepsAnswer: string[] = [];
  const localSteps = async () => localStepsAnswer;
  await ctx.startWorker({
    taskQueue,
    activities: { ...activities, cachedPlan, localSteps, ...createFeatureActivities({ log: [] }) },
    sinks,
    maxHeartbeatThrottleInterval: '200ms',
  });
  const plan: Record<Exclude<SagaKind, 'parallel-rolled-back'>, PipelineScenario> = {
    completed: {},
    'rolled-back': { failAt: 'ml' },
    'compensation-failed': { failAt: 'backtest', failCompensationOf: 'codegen' },
    cancelled: { blockAt: 'ml' },
    'approval-approved': {},
    'plan-cache-hit': {},
    'v2-plan-cache-hit': {},
    'v2-completed': {},
    'v2-rolled-back': { failAt: 'ml' },
    'v2-compensation-failed': { failAt: 'backtest', failCompensationOf: 'codegen' },
    'v2-cancelled': { blockAt: 'ml' },
    'v2-approval-approved': {},
    'v2-approval-rejected': {},
  };
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  for (const kind of SAGAS) {
    if (!rewriteAll && fs.existsSync(historyFile(kind))) continue;
    localStepsAnswer = WITH_LOCAL_STEPS.has(kind) ? [...LOCAL_STEP_CANDIDATES] : [];
    const approval = kind === 'approval-approved' || kind.startsWith('v2-approval');
    let handle;
    if (kind === 'parallel-rolled-back') {
      handle = await ctx.client.workflow.start('fixtureFeatureSaga', {
        taskQueue,
        workflowId: `replay-parallel-${randomUUID()}`,
        args: [PARALLEL_SAGA],
      });
    } else {
      const workflowId = pipelineWorkflowId('REPLAY', randomUUID());
      scenarios.set(workflowId, plan[kind]);
      handle = await startPipeline(
        ctx.client,
        taskQueue,
        {
          idea: `replay ${kind}`,
          symbol: 'REPLAY',
          ...(approval ? { approval: 'before_backtest' as const } : {}),
        },
        { workflowId },
      );
      if (kind === 'cancelled' || kind === 'v2-cancelled') {
        await waitForState(handle, (s) => s.currentStep === 'ml');
        await handle.executeUpdate(cancelUpdate, { args: ['recorded for the replay test'] });
      }
      if (approval) {
        await waitForState(handle, (s) => s.state === 'awaiting_approval');
        if (kind === 'v2-approval-rejected')
          await handle.executeUpdate(rejectUpdate, { args: [{ approver: 'replay test', reason: 'no' }] });
        else await handle.executeUpdate(approveUpdate, { args: [{ approver: 'replay test' }] });
      }
    }
    if (
      [
        'completed',
        'approval-approved',
        'plan-cache-hit',
        'v2-plan-cache-hit',
        'v2-completed',
        'v2-approval-approved',
      ].includes(kind)
    )
      await handle.result();
    else await failureOf(handle);
    fs.writeFileSync(
      historyFile(kind),
      // protobufjs' toJSON: int64 as strings, enums by name, bytes as base64; `fromObject` reads it back.
      JSON.stringify(await handle.fetchHistory(), null, 1) + '\n',
    );
  }
}

describe('saga histories replay against the current workflow code', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  const keyPrefix = uniquePrefix('saga-replay');

  beforeAll(async () => {
    if (process.env.SAGALANE_WRITE_SAGA_HISTORIES) {
      ctx = await temporalTestContext();
      redis = redisClient();
      try {
        await writeHistories(ctx, redis, keyPrefix);
      } finally {
        await ctx.closeAll();
        await deleteKeys(redis, keyPrefix);
        redis.disconnect();
      }
    }
  });

  it('has the committed histories: completed, rolled back, compensation failed, cancelled, approval, parallel, plan-cache hit (three patches, one patch)', () => {
    for (const kind of SAGAS) expect(fs.existsSync(historyFile(kind))).toBe(true);
    const eventTypes = (kind: SagaKind) =>
      JSON.stringify(
        JSON.parse(fs.readFileSync(historyFile(kind), 'utf8')).events.map(
          (e: { eventType: string }) => e.eventType,
        ),
      );
    expect(eventTypes('completed')).toContain('WORKFLOW_EXECUTION_COMPLETED');
    expect(eventTypes('rolled-back')).toContain('WORKFLOW_EXECUTION_FAILED');
    expect(eventTypes('cancelled')).toContain('ACTIVITY_TASK_CANCEL_REQUESTED');
    expect(eventTypes('approval-approved')).toContain('WORKFLOW_EXECUTION_UPDATE_ACCEPTED');
    expect(eventTypes('approval-approved')).toContain('MARKER_RECORDED'); // the fewer-commands patch
    expect(eventTypes('completed')).not.toContain('MARKER_RECORDED'); // recorded before the patch existed
    expect(eventTypes('parallel-rolled-back')).toContain('ACTIVITY_TASK_CANCEL_REQUESTED');
    // Three patch markers (fewer commands, local steps, plan cache) and two local activities (localSteps, cachedPlan);
    // the plan came from the cache, so no reasoning activity.
    const cacheHit = JSON.parse(fs.readFileSync(historyFile('plan-cache-hit'), 'utf8')).events as {
      eventType: string;
      activityTaskScheduledEventAttributes?: { activityType: { name: string } };
    }[];
    expect(cacheHit.filter((e) => e.eventType === 'EVENT_TYPE_MARKER_RECORDED')).toHaveLength(5);
    expect(cacheHit.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType.name ?? [])).toEqual([
      'codegen',
      'ml',
      'backtest',
    ]);
    // The same saga started by the current code: one patch marker (and one core-made TemporalChangeVersion upsert).
    const v2 = JSON.parse(fs.readFileSync(historyFile('v2-plan-cache-hit'), 'utf8')).events as {
      eventType: string;
      upsertWorkflowSearchAttributesEventAttributes?: { searchAttributes: { indexedFields: object } };
    }[];
    expect(v2.filter((e) => e.eventType === 'EVENT_TYPE_MARKER_RECORDED')).toHaveLength(3);
    expect(
      v2.filter((e) =>
        Object.keys(
          e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes.indexedFields ?? {},
        ).includes('TemporalChangeVersion'),
      ),
    ).toHaveLength(1);
  });

  it('has the v2 shapes recorded with in-worker agents: codegen and the compensations ran as local activities', () => {
    const end: Record<string, string> = {
      'v2-completed': 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED',
      'v2-approval-approved': 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED',
      'v2-rolled-back': 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED',
      'v2-compensation-failed': 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED',
      'v2-cancelled': 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED',
      'v2-approval-rejected': 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED',
    };
    for (const kind of WITH_LOCAL_STEPS) {
      const events = JSON.parse(fs.readFileSync(historyFile(kind), 'utf8')).events as {
        eventType: string;
        activityTaskScheduledEventAttributes?: { activityType: { name: string } };
      }[];
      const scheduled = events.flatMap(
        (e) => e.activityTaskScheduledEventAttributes?.activityType.name ?? [],
      );
      expect({
        kind,
        scheduled: scheduled.filter((n) => n === 'codegen' || n.startsWith('compensate')),
      }).toEqual({
        kind,
        scheduled: [],
      });
      expect({ kind, end: events.at(-1)!.eventType }).toEqual({ kind, end: end[kind] });
    }
  });

  it('replays every history without a nondeterminism error', async () => {
    const results = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: { codePath: workflowBundlePath() }, sinks },
      loadHistories(),
    )) {
      results.push({ workflowId: result.workflowId, error: result.error?.message });
    }
    expect(results).toEqual(SAGAS.map((kind) => ({ workflowId: `replay-${kind}`, error: undefined })));
  });

  it('fails the replay when the workflow code changes the order of its steps', async () => {
    const changed = await bundleWorkflowCode({
      workflowsPath: require.resolve('../fixtures/nondeterministic-pipeline'),
      logger: {
        log: () => undefined,
        trace: () => undefined,
        debug: () => undefined,
        info: () => undefined,
        warn: () => undefined,
        error: () => undefined,
      } as never,
    });
    const [completed] = loadHistories();
    const errors: (string | undefined)[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: changed, sinks }, [completed!])) {
      errors.push(result.error?.name);
    }
    expect(errors).toEqual(['DeterminismViolationError']);
  });
});

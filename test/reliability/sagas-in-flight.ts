/**
 * The "20 sagas in flight through an outage" scenario of the restart tests (temporal-restart.test.ts on the dev
 * server, temporal-pg-*.test.ts on PostgreSQL): 8 sagas held inside ml, 7 inside backtest, 5 inside ml that then fail
 * in backtest. Invariant checked afterwards: every saga ends as it should (completed, or rolled_back for those that
 * fail in backtest) and no step that had finished before the outage runs again.
 */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { Client, WorkflowHandle } from '@temporalio/client';
import {
  RESEARCH_PIPELINE_WORKFLOW,
  pipelineWorkflowId,
  type PipelineTuning,
} from '../../src/workflows/research/pipeline-contract';
import { stateQuery } from '../../src/workflows/saga-contract';
import { recordedCalls, releaseStep } from '../fixtures/test-activities';
import { waitFor, withDeadline } from './reliability-kit';

/** Quick heartbeats and retries, so an outage is noticed and recovered from within seconds. */
export const IN_FLIGHT_TUNING: PipelineTuning = {
  heartbeatTimeoutMs: 2_000,
  retryInitialIntervalMs: 50,
  compensationMaximumAttempts: 3,
};

type Kind = 'BLOCKML' | 'BLOCKBT' | 'ROLLBACK';
const BLOCKED_STEP: Record<Kind, string> = { BLOCKML: 'ml', BLOCKBT: 'backtest', ROLLBACK: 'ml' };
const FINISHED_BEFORE_OUTAGE: Record<Kind, string[]> = {
  BLOCKML: ['reasoning', 'codegen'],
  BLOCKBT: ['reasoning', 'codegen', 'ml'],
  ROLLBACK: ['reasoning', 'codegen'],
};

export interface InFlightSaga {
  kind: Kind;
  handle: WorkflowHandle;
}

export interface SagaOutcome {
  kind: Kind;
  completed: boolean;
  state: string;
  /** Executions of steps that had finished before the outage, beyond their first. */
  rerun: number;
  steps: string[];
}

/** Where the sagas run and where their agents (test/fixtures/test-activities.ts, `scenarioBySymbol`) record calls. */
export interface InFlightContext {
  client: Client;
  taskQueue: string;
  redis: Redis;
  keyPrefix: string;
}

/** Starts the 20 sagas and resolves once every one is inside its held step. */
export async function startSagasInFlight(ctx: InFlightContext, label: string): Promise<InFlightSaga[]> {
  const kinds: Kind[] = [
    ...Array<Kind>(8).fill('BLOCKML'),
    ...Array<Kind>(7).fill('BLOCKBT'),
    ...Array<Kind>(5).fill('ROLLBACK'),
  ];
  const sagas = await Promise.all(
    kinds.map(async (kind, i) => ({
      kind,
      handle: await ctx.client.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
        taskQueue: ctx.taskQueue,
        workflowId: pipelineWorkflowId(`${kind}${i}`, randomUUID()),
        args: [{ idea: `${label} ${i}`, symbol: `${kind}${i}` }, IN_FLIGHT_TUNING],
      }),
    })),
  );
  await waitFor(
    'all sagas to be inside their blocked step',
    async () => {
      const inside = await Promise.all(
        sagas.map(async ({ kind, handle }) =>
          (await recordedCalls(ctx.redis, ctx.keyPrefix, handle.workflowId)).some(
            (c) => c.name === BLOCKED_STEP[kind],
          ),
        ),
      );
      return inside.every(Boolean) ? true : undefined;
    },
    90_000,
    200,
  );
  return sagas;
}

/** Lets the held steps finish and waits for every saga's end. */
export async function releaseAndCollect(ctx: InFlightContext, sagas: InFlightSaga[]): Promise<SagaOutcome[]> {
  await Promise.all(sagas.map(({ handle }) => releaseStep(ctx.redis, ctx.keyPrefix, handle.workflowId)));
  return Promise.all(
    sagas.map(async ({ kind, handle }) => {
      const completed = await withDeadline(
        handle.result().then(
          () => true,
          () => false,
        ),
        180_000,
      );
      const state = await handle.query(stateQuery);
      const calls = await recordedCalls(ctx.redis, ctx.keyPrefix, handle.workflowId);
      const rerun = calls.filter(
        (c) => FINISHED_BEFORE_OUTAGE[kind].includes(c.name) && c.attempt > 1,
      ).length;
      return {
        kind,
        completed,
        state: state.state,
        rerun,
        steps: calls.map((c) => `${c.name}#${c.attempt}`),
      };
    }),
  );
}

/** The figures a scenario prints. */
export function outcomeFigures(outcomes: SagaOutcome[]): Record<string, number> {
  return {
    sagas: outcomes.length,
    completed: outcomes.filter((o) => o.state === 'completed').length,
    rolled_back: outcomes.filter((o) => o.state === 'rolled_back').length,
    finished_steps_rerun: outcomes.reduce((s, o) => s + o.rerun, 0),
  };
}

/** Every saga ended as its kind says, no finished step ran twice, each rollback compensated each step once. */
export function expectEverySagaCorrect(outcomes: SagaOutcome[]): void {
  expect(outcomes).toHaveLength(20);
  for (const o of outcomes) {
    const expected =
      o.kind === 'ROLLBACK'
        ? { completed: false, state: 'rolled_back' }
        : { completed: true, state: 'completed' };
    expect({ kind: o.kind, completed: o.completed, state: o.state, rerun: o.rerun }).toEqual({
      kind: o.kind,
      ...expected,
      rerun: 0,
    });
  }
  for (const o of outcomes.filter((x) => x.kind === 'ROLLBACK')) {
    expect(o.steps.filter((s) => s.startsWith('compensate'))).toEqual([
      'compensateMl#1',
      'compensateCodegen#1',
      'compensateReasoning#1',
    ]);
  }
}

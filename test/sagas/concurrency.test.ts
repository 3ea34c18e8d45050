/** Many sagas at once on one worker: each follows its own input and scenario, nothing leaks between them. */
import { randomUUID } from 'node:crypto';
import { createTestPipelineActivities, type PipelineScenario } from '../fixtures/test-activities';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import {
  PIPELINE_STEPS,
  pipelineWorkflowId,
  type PipelineResult,
} from '../../src/workflows/research/pipeline-contract';
import { queryState, recordingSinks, startPipeline, type SinkEvent } from './saga-test-kit';

const SAGA_COUNT = 20;

describe('20 sagas at once', () => {
  let ctx: TemporalTestContext;
  beforeAll(async () => {
    ctx = await temporalTestContext();
  });
  afterAll(async () => {
    await ctx.closeAll();
  });

  // 20 sagas on a shared 2-core box: at load average ~50 one workflow task took 13 s.
  jest.setTimeout(240_000);

  it('ends each saga according to its own input, with its own state and result', async () => {
    const taskQueue = uniqueTaskQueue('saga-concurrency');
    const scenarios = new Map<string, PipelineScenario>();
    const events: SinkEvent[] = [];
    const { activities, calls } = createTestPipelineActivities({
      scenarioFor: (id) => scenarios.get(id) ?? {},
    });
    await ctx.startWorker({ taskQueue, activities, sinks: recordingSinks(events) });

    // Every fourth saga fails, each time at a different step; the rest complete.
    const sagas = Array.from({ length: SAGA_COUNT }, (_, i) => {
      const symbol = `SYM${i}`;
      const failAt = i % 4 === 3 ? PIPELINE_STEPS[((i - 3) / 4) % PIPELINE_STEPS.length] : undefined;
      const workflowId = pipelineWorkflowId(symbol, randomUUID());
      scenarios.set(workflowId, { failAt });
      return { i, symbol, idea: `idea number ${i}`, failAt, workflowId };
    });
    const handles = await Promise.all(
      sagas.map((s) =>
        startPipeline(
          ctx.client,
          taskQueue,
          { idea: s.idea, symbol: s.symbol },
          { workflowId: s.workflowId },
        ),
      ),
    );
    const outcomes = await Promise.allSettled(handles.map((h) => h.result()));

    for (const [index, saga] of sagas.entries()) {
      const outcome = outcomes[index]!;
      const state = await queryState(handles[index]!);
      const sagaCalls = calls.filter((c) => c.sagaId === saga.workflowId).map((c) => c.name);
      expect(state.sagaId).toBe(saga.workflowId);
      if (saga.failAt) {
        expect(outcome.status).toBe('rejected');
        expect(state.state).toBe('rolled_back');
        expect(state.error?.step).toBe(saga.failAt);
        const finished = PIPELINE_STEPS.slice(0, PIPELINE_STEPS.indexOf(saga.failAt));
        expect(state.compensations.map((c) => c.step)).toEqual([...finished].reverse());
        expect(sagaCalls.slice(0, finished.length + 1)).toEqual([...finished, saga.failAt]);
      } else {
        expect(outcome.status).toBe('fulfilled');
        const result = (outcome as PromiseFulfilledResult<PipelineResult>).value;
        expect(state.state).toBe('completed');
        expect(result.sagaId).toBe(saga.workflowId);
        expect(result.plan.rationale).toBe(`test plan for ${saga.symbol}: ${saga.idea}`);
        expect(result.params).toEqual({ fast: 2 + (saga.symbol.length % 3), slow: 10 + saga.symbol.length });
        expect(Object.values(result.artifacts).every((key) => key.includes(saga.workflowId))).toBe(true);
        expect(sagaCalls).toEqual([...PIPELINE_STEPS]);
      }
    }
    const ended = events.filter((e) => e.name === 'sagaEnded');
    expect(ended).toHaveLength(SAGA_COUNT);
    expect(new Set(ended.map((e) => e.sagaId)).size).toBe(SAGA_COUNT);
    // They ran at once, not one after another: the most sagas between their start and end event at any one time, in
    // the order the worker emitted them. (How fast sagas run is bench:saga's question, not this test's.)
    let inFlight = 0;
    let mostInFlight = 0;
    for (const e of events) {
      if (e.name === 'sagaStarted') mostInFlight = Math.max(mostInFlight, ++inFlight);
      if (e.name === 'sagaEnded') inFlight--;
    }
    expect(mostInFlight).toBeGreaterThanOrEqual(SAGA_COUNT / 2);
  });
});

/** The generic `Saga` helper in a user's own workflow (test/fixtures/test-workflows.ts `fixtureTripSaga`). */
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { createTripActivities } from '../fixtures/test-activities';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import { sagaStateQuery } from '../../src/workflows/saga';
import type { TripSagaInput } from '../fixtures/test-workflows';
import { recordingSinks, type SinkEvent } from './saga-test-kit';

describe('Saga helper in a user workflow', () => {
  let ctx: TemporalTestContext;
  const taskQueue = uniqueTaskQueue('saga-helper');
  const log: string[] = [];
  const events: SinkEvent[] = [];
  let counter = 0;

  beforeAll(async () => {
    ctx = await temporalTestContext();
    await ctx.startWorker({
      taskQueue,
      activities: createTripActivities(log),
      sinks: recordingSinks(events),
      maxHeartbeatThrottleInterval: '200ms',
    });
  });
  afterAll(async () => {
    await ctx.closeAll();
  });

  const run = async (input: TripSagaInput) => {
    log.length = 0;
    const handle = await ctx.client.workflow.start('fixtureTripSaga', {
      taskQueue,
      workflowId: `trip-${Date.now()}-${counter++}`,
      args: [input],
    });
    return handle;
  };

  it('uses its own step names as states and returns the body result', async () => {
    const handle = await run({});
    expect(await handle.result()).toEqual(['hotel-booking', 'flight-booking']);
    const state = await handle.query(sagaStateQuery);
    expect(state.workflowType).toBe('fixtureTripSaga');
    expect(state.state).toBe('completed');
    expect(state.steps.map((s) => s.name)).toEqual(['book-hotel', 'book-flight', 'charge']);
    const transitions = events
      .filter((e) => e.sagaId === handle.workflowId && e.name === 'stateTransition')
      .map((e) => e.event.to);
    expect(transitions).toEqual(['book-hotel', 'book-flight', 'charge', 'completed']);
  });

  it('compensates only steps that registered a compensation, newest first', async () => {
    const handle = await run({ failAt: 'charge' });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toContain(
      'step "charge" failed: no charge available',
    );
    expect(log).toEqual([
      'book:hotel',
      'book:flight',
      'book:charge',
      'cancel:flight-booking',
      'cancel:hotel-booking',
    ]);
    const state = await handle.query(sagaStateQuery);
    expect(state.state).toBe('rolled_back');
    expect(state.compensations).toEqual([
      { step: 'book-flight', status: 'completed' },
      { step: 'book-hotel', status: 'completed' },
    ]);
  });

  it('rolls back on Temporal cancellation (`temporal workflow cancel`) and ends the workflow cancelled', async () => {
    const handle = await run({ holdLastStep: true });
    await waitFor('the last step to hold', () => log.includes('hold'), 15_000, 50);
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(log.slice(-2)).toEqual(['cancel:flight-booking', 'cancel:hotel-booking']);
    const state = await handle.query(sagaStateQuery);
    expect(state.state).toBe('rolled_back');
    expect(state.error).toMatchObject({ reason: 'cancelled', step: 'charge' });
    expect((await handle.describe()).status.name).toBe('CANCELLED');
  });
});

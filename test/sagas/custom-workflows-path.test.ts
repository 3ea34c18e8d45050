/**
 * `startSagaWorker` with the user's own workflows: `workerOptions.workflowsPath` names a module of theirs
 * (test/fixtures/custom-saga-workflows.ts) and the worker runs its saga on the real dev server, with sagalane's
 * step-attempt workflow interceptor bundled in (the state shows the retried step's two attempts).
 */
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { SagaWorkerSetupError, startSagaWorker } from '../../src/runtime/saga-worker';
import { sagaStateQuery } from '../../src/workflows/public';
import type { customOrderSaga, OrderActivities } from '../fixtures/custom-saga-workflows';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  workflowBundlePath,
  type TemporalTestContext,
} from '../helpers/temporal';

// Bundling the user's module at start-up takes seconds, more on a loaded box.
jest.setTimeout(180_000);

const userWorkflows = path.resolve(__dirname, '..', 'fixtures', 'custom-saga-workflows.ts');

function orderActivities(log: string[]): OrderActivities {
  const charged = new Set<string>();
  return {
    async reserve(order) {
      log.push(`reserve:${order}`);
      return `reservation-${order}`;
    },
    async charge(order) {
      log.push(`charge:${order}`);
      if (!charged.has(order)) {
        charged.add(order);
        throw ApplicationFailure.retryable('card network busy', 'Busy');
      }
      return `receipt-${order}`;
    },
    async release(reservation) {
      log.push(`release:${reservation}`);
    },
  };
}

function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} in ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

describe('saga worker with the user’s own workflowsPath', () => {
  let ctx: TemporalTestContext;
  beforeAll(async () => {
    ctx = await temporalTestContext();
  });
  afterAll(async () => {
    await ctx.closeAll();
  });

  it('runs the saga its workflowsPath exports, with step attempts recorded', async () => {
    const taskQueue = uniqueTaskQueue('custom-workflows-path');
    const log: string[] = [];
    const handle = await startSagaWorker({
      // SAGALANE_WORKFLOW_BUNDLE (sagalane's own workflows) does not override the workflows the caller names.
      config: loadConfig({ SAGALANE_WORKFLOW_BUNDLE: workflowBundlePath() }),
      address: temporalAddress(),
      taskQueue,
      activities: orderActivities(log),
      logger: createLogger('silent'),
      workerOptions: { workflowsPath: userWorkflows },
    });
    const workflowId = `custom-order-${Date.now()}`;
    try {
      const saga = await ctx.client.workflow.start<typeof customOrderSaga>('customOrderSaga', {
        taskQueue,
        workflowId,
        args: ['o-1'],
      });
      // sagalane's own workflows have no customOrderSaga: its workflow tasks would fail until the deadline.
      expect(await withDeadline(saga.result(), 60_000, 'customOrderSaga did not finish')).toEqual([
        'reservation-o-1',
        'receipt-o-1',
      ]);
      expect(log).toEqual(['reserve:o-1', 'charge:o-1', 'charge:o-1']);
      const state = await saga.query(sagaStateQuery);
      expect(state.workflowType).toBe('customOrderSaga');
      expect(state.state).toBe('completed');
      expect(state.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
        ['reserve', 'completed', 1],
        ['charge', 'completed', 2],
      ]);
    } finally {
      // A run the worker could not start would otherwise keep failing its workflow tasks.
      await ctx.client.workflow
        .getHandle(workflowId)
        .terminate('test over')
        .catch(() => undefined);
      await handle.stop();
    }
  });

  it('refuses workflowBundlePath together with workflowsPath, naming both', async () => {
    const started = startSagaWorker({
      config: loadConfig({}),
      address: temporalAddress(),
      activities: orderActivities([]),
      logger: createLogger('silent'),
      workflowBundlePath: workflowBundlePath(),
      workerOptions: { workflowsPath: userWorkflows },
    });
    // A worker that started anyway is stopped, so the failure is the assertion's, not a hang.
    const outcome = await started.then(
      async (handle) => {
        await handle.stop();
        return 'started';
      },
      (err: unknown) => err,
    );
    expect(outcome).toBeInstanceOf(SagaWorkerSetupError);
    expect((outcome as Error).message).toMatch(/workflowBundlePath .*workerOptions.workflowsPath/);
  });
});

/**
 * The Temporal server restarts with sagas in flight: a dev server of the test's own (fixed port, SQLite file) is
 * stopped while 20 sagas are inside their ml or backtest step, and started again on the same port and file. The
 * worker and client reconnect by themselves. Invariant: every saga ends as it should (completed, or rolled_back
 * for those that fail in backtest) and no step that had finished before the restart runs again.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { startTemporalDevServer, type DevServer } from '../../src/dev/temporal-server';
import { createLogger } from '../../src/logger';
import { startSagaWorker, type SagaWorkerHandle } from '../../src/workers/saga-worker';
import {
  RESEARCH_PIPELINE_WORKFLOW,
  pipelineWorkflowId,
  stateQuery,
  type PipelineTuning,
} from '../../src/workflows/pipeline-contract';
import {
  createTestPipelineActivities,
  recordedCalls,
  releaseStep,
  scenarioBySymbol,
} from '../fixtures/test-activities';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';
import { uniqueTaskQueue, workflowBundlePath } from '../helpers/temporal';
import { figure, freePort, portAnswers, waitFor, withDeadline } from './reliability-kit';

const TUNING: PipelineTuning = {
  heartbeatTimeoutMs: 2_000,
  retryInitialIntervalMs: 50,
  compensationMaximumAttempts: 3,
};
type Kind = 'BLOCKML' | 'BLOCKBT' | 'ROLLBACK';
const BLOCKED_STEP: Record<Kind, string> = { BLOCKML: 'ml', BLOCKBT: 'backtest', ROLLBACK: 'ml' };
const FINISHED_BEFORE_RESTART: Record<Kind, string[]> = {
  BLOCKML: ['reasoning', 'codegen'],
  BLOCKBT: ['reasoning', 'codegen', 'ml'],
  ROLLBACK: ['reasoning', 'codegen'],
};

describe('Temporal dev server (SQLite file) restarted with sagas in flight', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-reliability-temporal-'));
  const dbFilename = path.join(dir, 'temporal.db');
  const keyPrefix = uniquePrefix('rel-temporal-restart');
  const taskQueue = uniqueTaskQueue('rel-temporal-restart');
  let port: number;
  let server: DevServer | undefined;
  let redis: Redis;
  let native: NativeConnection;
  let connection: Connection;
  let worker: SagaWorkerHandle;

  beforeAll(async () => {
    try {
      // The outage makes the SDK log every failed poll; only errors matter here.
      Runtime.install({ logger: new DefaultLogger('ERROR') });
    } catch {
      // A runtime was installed already in this process.
    }
    port = await freePort();
    server = await startTemporalDevServer({ port, dbFilename, logLevel: 'error' });
    redis = redisClient();
    native = await NativeConnection.connect({ address: server.address });
    const { activities } = createTestPipelineActivities({ redis, keyPrefix, scenarioFor: scenarioBySymbol });
    worker = await startSagaWorker({
      config: loadConfig({}),
      connection: native,
      taskQueue,
      activities,
      workflowBundlePath: workflowBundlePath(),
      logger: createLogger('error'),
      workerOptions: { maxHeartbeatThrottleInterval: '200ms', shutdownGraceTime: '2s' },
    });
    connection = await Connection.connect({ address: server.address });
  });
  afterAll(async () => {
    if (worker) await withDeadline(worker.stop(), 20_000).catch(() => undefined);
    await native?.close().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await server?.stop();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ends every saga correctly after the restart', async () => {
    const started = Date.now();
    const client = new Client({ connection });
    const kinds: Kind[] = [
      ...Array<Kind>(8).fill('BLOCKML'),
      ...Array<Kind>(7).fill('BLOCKBT'),
      ...Array<Kind>(5).fill('ROLLBACK'),
    ];
    const sagas: { kind: Kind; handle: WorkflowHandle }[] = await Promise.all(
      kinds.map(async (kind, i) => ({
        kind,
        handle: await client.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
          taskQueue,
          workflowId: pipelineWorkflowId(`${kind}${i}`, randomUUID()),
          args: [{ idea: `survive a server restart ${i}`, symbol: `${kind}${i}` }, TUNING],
        }),
      })),
    );
    await waitFor(
      'all sagas to be inside their blocked step',
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

    const downAt = Date.now();
    await server!.stop();
    server = undefined;
    expect(await portAnswers(port)).toBe(false);
    // Down long enough for the worker's polls and the blocked steps' heartbeats to fail.
    await sleep(3_000);
    server = await startTemporalDevServer({ port, dbFilename, logLevel: 'error' });
    const downSeconds = (Date.now() - downAt) / 1000;
    await Promise.all(sagas.map(({ handle }) => releaseStep(redis, keyPrefix, handle.workflowId)));

    const outcomes = await Promise.all(
      sagas.map(async ({ kind, handle }) => {
        const completed = await withDeadline(
          handle.result().then(
            () => true,
            () => false,
          ),
          120_000,
        );
        const state = await handle.query(stateQuery);
        const calls = await recordedCalls(redis, keyPrefix, handle.workflowId);
        const rerun = calls.filter(
          (c) => FINISHED_BEFORE_RESTART[kind].includes(c.name) && c.attempt > 1,
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
    figure('temporal restart (sqlite)', {
      sagas: outcomes.length,
      completed: outcomes.filter((o) => o.state === 'completed').length,
      rolled_back: outcomes.filter((o) => o.state === 'rolled_back').length,
      finished_steps_rerun: outcomes.reduce((s, o) => s + o.rerun, 0),
      server_down_s: downSeconds.toFixed(1),
      seconds: ((Date.now() - started) / 1000).toFixed(1),
    });
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
    // Each finished step ran once; the rollbacks compensated each finished step once.
    for (const o of outcomes.filter((x) => x.kind === 'ROLLBACK')) {
      expect(o.steps.filter((s) => s.startsWith('compensate'))).toEqual([
        'compensateMl#1',
        'compensateCodegen#1',
        'compensateReasoning#1',
      ]);
    }
  });
});

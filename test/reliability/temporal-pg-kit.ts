/**
 * The Temporal-on-PostgreSQL fault tests' shared scenario: a Temporal server of the test's own on PostgreSQL
 * (databases sagalane_temporal_reliability*), one in-process saga worker, and 20 sagas held inside a step while
 * the test breaks something. Invariant checked afterwards: every saga ends as it should (completed, or rolled_back
 * for those that fail in backtest) and no step that had finished before the outage runs again.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import {
  startTemporalOnPostgres,
  startTemporalPostgresServer,
  type TemporalPostgresOptions,
  type TemporalPostgresServer,
} from '../../src/dev/temporal-postgres';
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
import { freeTemporalPort } from '../helpers/temporal-postgres';
import { waitFor, withDeadline } from './reliability-kit';

export const RELIABILITY_POSTGRES_URL =
  process.env.SAGALANE_TEST_POSTGRES_RELIABILITY_URL ??
  'postgres://postgres@127.0.0.1:5432/sagalane_temporal_reliability';

const TUNING: PipelineTuning = {
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

export interface SagaOutcome {
  kind: Kind;
  completed: boolean;
  state: string;
  /** Executions of steps that had finished before the outage, beyond their first. */
  rerun: number;
  steps: string[];
}

export interface PostgresSagaRig {
  server(): TemporalPostgresServer;
  /** Stops the Temporal server (SIGTERM, waits for it to exit). */
  stopServer(): Promise<void>;
  /** Starts it again with the same ports, state directory and databases. */
  startServer(): Promise<void>;
  /** Starts 20 sagas (8 block in ml, 7 in backtest, 5 block in ml then fail in backtest) and waits until all are inside. */
  startSagasInFlight(label: string): Promise<void>;
  /** Lets the held steps finish and waits for every saga's end. */
  releaseAndCollect(): Promise<SagaOutcome[]>;
  close(): Promise<void>;
}

export async function postgresSagaRig(name: string): Promise<PostgresSagaRig> {
  try {
    // An outage makes the SDK log every failed poll; only errors matter here.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // A runtime was installed already in this process.
  }
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `sagalane-${name}-`));
  const keyPrefix = uniquePrefix(name);
  const taskQueue = uniqueTaskQueue(name);
  const log = (l: string) => process.stderr.write(l + '\n');
  const serverOptions: TemporalPostgresOptions = {
    postgresUrl: RELIABILITY_POSTGRES_URL,
    stateDir,
    port: await freeTemporalPort(),
    logLevel: 'error',
    log,
  };
  let server: TemporalPostgresServer | undefined = await startTemporalOnPostgres(serverOptions);
  const redis = redisClient();
  const native = await NativeConnection.connect({ address: server.address });
  const { activities } = createTestPipelineActivities({ redis, keyPrefix, scenarioFor: scenarioBySymbol });
  const worker: SagaWorkerHandle = await startSagaWorker({
    config: loadConfig({}),
    connection: native,
    taskQueue,
    activities,
    workflowBundlePath: workflowBundlePath(),
    logger: createLogger('error'),
    workerOptions: { maxHeartbeatThrottleInterval: '200ms', shutdownGraceTime: '2s' },
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  let sagas: { kind: Kind; handle: WorkflowHandle }[] = [];

  return {
    server: () => {
      if (!server) throw new Error('the Temporal server is stopped');
      return server;
    },
    async stopServer() {
      await server?.stop();
      server = undefined;
    },
    async startServer() {
      server = await startTemporalPostgresServer(serverOptions);
    },
    async startSagasInFlight(label) {
      const kinds: Kind[] = [
        ...Array<Kind>(8).fill('BLOCKML'),
        ...Array<Kind>(7).fill('BLOCKBT'),
        ...Array<Kind>(5).fill('ROLLBACK'),
      ];
      sagas = await Promise.all(
        kinds.map(async (kind, i) => ({
          kind,
          handle: await client.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
            taskQueue,
            workflowId: pipelineWorkflowId(`${kind}${i}`, randomUUID()),
            args: [{ idea: `${label} ${i}`, symbol: `${kind}${i}` }, TUNING],
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
        90_000,
        200,
      );
    },
    async releaseAndCollect() {
      await Promise.all(sagas.map(({ handle }) => releaseStep(redis, keyPrefix, handle.workflowId)));
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
          const calls = await recordedCalls(redis, keyPrefix, handle.workflowId);
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
    },
    async close() {
      await withDeadline(worker.stop(), 20_000).catch(() => undefined);
      await native.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await server?.stop();
      await deleteKeys(redis, keyPrefix);
      redis.disconnect();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
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

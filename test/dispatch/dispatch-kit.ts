/**
 * Shared set-up of the dispatch tests: a saga worker whose pipeline steps are the real dispatch activities, a lane
 * worker serving the step types with the test agents (in process, or as a real process to kill), and checks.
 */
import { withPipelineLocalActivities } from '../../src/activities/research/local-steps';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type Redis from 'ioredis';
import { createLaneDispatchActivities } from '../../src/dispatch/lane-dispatch';
import {
  PIPELINE_DISPATCH_STEPS,
  pipelineAwaitedSteps,
  type AwaitedStepsSetting,
} from '../../src/activities/research/pipeline-dispatch-steps';
import { createLogger } from '../../src/logger';
import { activityStepTypes } from '../../src/dispatch/activity-completion';
import { stepTaskSchemas } from '../../src/dispatch/activity-step-contract';
import { ExpressClient } from '../../src/lane/express-client';
import { ExpressWorker } from '../../src/lane/express-worker';
import { createLogSagaSinks } from '../../src/runtime/saga-worker';
import type { TemporalTestContext } from '../helpers/temporal';
import { redisUrl } from '../helpers/redis';
import { createTestStepHandlers, type StepScenario } from './fixtures/step-handlers';

export const STEP_NAMES = Object.keys(PIPELINE_DISPATCH_STEPS);
export const STEP_TYPES = STEP_NAMES.map((n) => `step.${n}`);
const ROOT = path.resolve(__dirname, '..', '..');

export function stepClient(prefix: string): ExpressClient {
  return new ExpressClient({ types: stepTaskSchemas(STEP_NAMES), redisUrl: redisUrl(), keyPrefix: prefix });
}

/**
 * A saga worker on `taskQueue` whose pipeline activities dispatch to the lane under `prefix`. With `awaited` its
 * `localSteps` answers as the wiring does for SAGALANE_AWAITED_STEPS=`awaited.steps` (default `codegen`): those steps
 * run as local activities, awaited steps; without, as shipped by default (`none`), every step is a dispatched
 * activity (the awaited-step store is still passed, as the wiring does).
 */
export async function startDispatchingSagaWorker(
  ctx: TemporalTestContext,
  taskQueue: string,
  express: ExpressClient,
  awaited?: { redis: Redis; prefix: string; steps?: AwaitedStepsSetting },
): Promise<void> {
  const dispatch = createLaneDispatchActivities({
    express,
    steps: PIPELINE_DISPATCH_STEPS,
    awaited: awaited ? { redis: awaited.redis, keyPrefix: awaited.prefix } : undefined,
  });
  await ctx.startWorker({
    taskQueue,
    activities: withPipelineLocalActivities({
      ...dispatch,
      localSteps: pipelineAwaitedSteps(awaited ? (awaited.steps ?? 'codegen') : 'none'),
    }),
    sinks: createLogSagaSinks(createLogger('silent')),
  });
}

/** An in-process lane worker serving the step types with the test agents. */
export async function startStepWorker(opts: {
  client: Client;
  redis: Redis;
  prefix: string;
  scenarioFor?: (sagaId: string) => StepScenario;
  concurrency?: number;
  /** Serve only these activity types. @defaultValue all eight */
  only?: (name: string) => boolean;
  /** With the step-run ledger (`runLedger`, as shipped), which awaited steps' over-marks need. @defaultValue false */
  ledger?: boolean;
}): Promise<ExpressWorker> {
  const handlers = createTestStepHandlers({
    redis: opts.redis,
    prefix: opts.prefix,
    scenarioFor: opts.scenarioFor,
  });
  const served = Object.fromEntries(Object.entries(handlers).filter(([name]) => opts.only?.(name) ?? true));
  const worker = new ExpressWorker({
    types: activityStepTypes(served, {
      completion: opts.client.activity,
      logger: createLogger('warn'),
      ...(opts.ledger ? { runLedger: { redis: opts.redis, keyPrefix: opts.prefix } } : {}),
    }),
    redisUrl: redisUrl(),
    keyPrefix: opts.prefix,
    concurrency: { min: opts.concurrency ?? 8, max: opts.concurrency ?? 8 },
    autoscaleIntervalMs: 0,
    minIdleMs: 1_500,
    janitorIntervalMs: 250,
    logger: createLogger('warn'),
  });
  await worker.start();
  return worker;
}

export interface SpawnedProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
  kill9(): Promise<void>;
}

/** A real process (`node --import tsx <script>`, so the pid is the process itself) that prints `ready`. */
export async function spawnReady(script: string, env: Record<string, string>): Promise<SpawnedProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready in 60 s:\n${output}`)), 60_000);
    const onData = () => {
      if (/^ready/m.test(output)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}) before it was ready:\n${output}`));
    });
  });
  return {
    child,
    exited,
    output: () => output,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A lane worker process serving the step types (test agents); killable with SIGKILL. */
export function spawnStepWorker(opts: {
  prefix: string;
  consumer: string;
  temporalAddress: string;
  concurrency?: number;
  /** Each forward step takes this long. @defaultValue 0 */
  stepMs?: number;
  /** Also serve the `bulk` type (standard lane), each task taking this long. @defaultValue not served */
  bulkMs?: number;
}): Promise<SpawnedProcess> {
  return spawnReady('test/dispatch/fixtures/step-worker-process.ts', {
    DISPATCH_TEST_PREFIX: opts.prefix,
    DISPATCH_TEST_CONSUMER: opts.consumer,
    DISPATCH_TEST_TEMPORAL: opts.temporalAddress,
    DISPATCH_TEST_CONCURRENCY: String(opts.concurrency ?? 8),
    DISPATCH_TEST_STEP_MS: String(opts.stepMs ?? 0),
    DISPATCH_TEST_BULK_MS: String(opts.bulkMs ?? 0),
  });
}

/**
 * A saga worker process in lane-dispatch mode (`startSagaWorker` with `stepDispatch: 'lane'`), with
 * SAGALANE_AWAITED_STEPS=`awaitedSteps` (unset: the default, `none`).
 */
export function spawnDispatchingSagaWorker(opts: {
  prefix: string;
  taskQueue: string;
  temporalAddress: string;
  bundle: string;
  awaitedSteps?: AwaitedStepsSetting;
}): Promise<SpawnedProcess> {
  const env: Record<string, string> = {
    DISPATCH_TEST_PREFIX: opts.prefix,
    DISPATCH_TEST_TASK_QUEUE: opts.taskQueue,
    DISPATCH_TEST_TEMPORAL: opts.temporalAddress,
    DISPATCH_TEST_BUNDLE: opts.bundle,
  };
  if (opts.awaitedSteps) env.SAGALANE_AWAITED_STEPS = opts.awaitedSteps;
  return spawnReady('test/dispatch/fixtures/saga-worker-process.ts', env);
}

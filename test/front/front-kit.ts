/**
 * Shared set-up of the front-door tests: the real saga worker (real agents, prebuilt workflow bundle) and the real
 * express worker on a task queue and Redis key prefix of the test file's own, plus clients and the env a spawned
 * `sagalane` process needs to talk to the same stack.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type Redis from 'ioredis';
import { SagaClient } from '../../src/client/saga-client';
import { DEFAULT_TASK_SCHEMAS } from '../../src/client/front-door';
import { loadConfig, type Config } from '../../src/config';
import { ExpressClient } from '../../src/lane/express-client';
import { createLogger } from '../../src/logger';
import { startExpressWorker, type RunningExpressWorker } from '../../src/runtime/express-worker';
import { createLogSagaSinks, startSagaWorker, type SagaWorkerHandle } from '../../src/runtime/saga-worker';
import { createTestPipelineActivities } from '../fixtures/test-activities';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  workflowBundlePath,
  type TemporalTestContext,
} from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

export const repoRoot = path.resolve(__dirname, '..', '..');
/**
 * Tests run `sagalane` as `npx sagalane` does: `node bin/sagalane.js`, the launcher that loads the TypeScript sources
 * through tsx inside its own process (a clone has no dist/). Not through the `tsx` command: that runs the program in a
 * child process and relays signals to it, and when the child has not confirmed a relayed SIGTERM within 30 ms (easy
 * on a loaded box) tsx SIGKILLs it and exits 143, so a shutdown test saw tsx's exit code instead of the CLI's.
 */
export const nodeBin = process.execPath;
export const cliPath = path.join(repoRoot, 'bin/sagalane.js');

export interface FrontStack {
  config: Config;
  ctx: TemporalTestContext;
  sagas: SagaClient;
  express: ExpressClient;
  redis: Redis;
  /** Environment for a spawned `sagalane` CLI / MCP process bound to this stack. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startFrontStack(
  name: string,
  opts: { expressWorker?: boolean } = {},
): Promise<FrontStack> {
  const ctx = await temporalTestContext();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    SAGALANE_TASK_QUEUE: uniqueTaskQueue(name),
    SAGALANE_KEY_PREFIX: uniquePrefix(name),
    REDIS_URL: redisUrl(),
    SAGALANE_LOG_LEVEL: 'warn',
  };
  const config = loadConfig(env);
  const silent = createLogger('silent');
  const sagaWorker: SagaWorkerHandle = await startSagaWorker({
    config,
    workflowBundlePath: workflowBundlePath(),
    logger: silent,
    // Saga steps go through the lane by default; a stack without a lane worker runs them in the saga worker, or
    // they would wait forever for a consumer.
    stepDispatch: opts.expressWorker === false ? 'inline' : undefined,
  });
  let expressWorker: RunningExpressWorker | undefined;
  if (opts.expressWorker !== false) expressWorker = await startExpressWorker({ config, logger: silent });
  const sagas = new SagaClient(ctx.client, { taskQueue: config.temporal.taskQueue });
  const express = new ExpressClient({
    types: DEFAULT_TASK_SCHEMAS,
    redisUrl: config.redisUrl,
    keyPrefix: config.keyPrefix,
  });
  const redis = redisClient();
  return {
    config,
    ctx,
    sagas,
    express,
    redis,
    env,
    async stop() {
      await express.close();
      await expressWorker?.stop();
      await sagaWorker.stop();
      await ctx.closeAll();
      await deleteKeys(redis, config.keyPrefix);
      redis.disconnect();
    },
  };
}

/**
 * A saga worker of test activities (test/fixtures/test-activities, each saga's scenario from `scenarioFor`) on a task
 * queue of its own beside the stack; resolves to the env of a `sagalane` process that starts sagas on that queue.
 */
export async function startTestSagaQueue(
  stack: FrontStack,
  queue: string,
  scenarioFor: NonNullable<Parameters<typeof createTestPipelineActivities>[0]>['scenarioFor'] = () => ({}),
): Promise<NodeJS.ProcessEnv> {
  const { activities } = createTestPipelineActivities({
    scenarioFor,
    redis: stack.redis,
    keyPrefix: stack.config.keyPrefix,
  });
  await stack.ctx.startWorker({
    taskQueue: queue,
    activities,
    sinks: createLogSagaSinks(createLogger('silent')),
    maxHeartbeatThrottleInterval: '100ms',
  });
  return { ...stack.env, SAGALANE_TASK_QUEUE: queue };
}

/** Polls `read` until `done` holds (the shared `waitFor`), or fails after `timeoutMs` with the last value seen. */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  let last: { value: T } | undefined;
  const seen = await waitFor(
    () => `a condition; last: ${last ? JSON.stringify(last.value) : 'nothing read'}`,
    async () => {
      last = { value: await read() };
      return done(last.value) && last;
    },
    timeoutMs,
    intervalMs,
  );
  return seen.value;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `sagalane <args>` from the sources (as `npx sagalane` does in a clone without dist/) and collects its output. */
export function runSagalane(env: NodeJS.ProcessEnv, args: string[], timeoutMs = 120_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBin, [cliPath, ...args], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sagalane ${args.join(' ')} did not exit in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

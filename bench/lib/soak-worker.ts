/**
 * The process bench:soak watches: one express worker (the no-op `echo` type) and one saga worker (the research
 * pipeline with near-instant activities) in the same process, reporting its memory over IPC once a second, after
 * a full GC when run with --expose-gc (so the heap figure is live data, not garbage waiting to be collected).
 *
 * Env (bench plumbing): SOAK_TEMPORAL_ADDRESS, SOAK_TASK_QUEUE, SOAK_KEY_PREFIX, REDIS_URL; SOAK_MAX_CACHED_WORKFLOWS
 * overrides the saga worker's workflow cache bound (`sdk` = the SDK's heap-derived default) for an A/B run.
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { ExpressWorker, echoTaskType } from '../../src/lane';
import { createLogger } from '../../src/logger';
import { startSagaWorker } from '../../src/runtime/saga-worker';
import { createFastPipelineActivities } from './fast-pipeline-activities';

export interface MemorySample {
  type: 'memory';
  /** Seconds since the worker became ready. */
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Workflows in the saga worker's cache (bounded by `maxCachedWorkflows`). */
  cachedWorkflows: number;
  /** Express tasks this worker ran to success so far (its own count, not the client's view of the backlog). */
  expressSucceeded: number;
  /** Outcomes it could not write because the entry had been reclaimed meanwhile, and entries it reclaimed. */
  expressFenced: number;
  orphansReclaimed: number;
}

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`soak worker: ${name} must be set`);
  return v;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const logger = createLogger((process.env.SOAK_LOG_LEVEL as 'error' | undefined) ?? 'error');
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const express = new ExpressWorker({
    types: [echoTaskType],
    redisUrl,
    keyPrefix: required('SOAK_KEY_PREFIX'),
    concurrency: { min: 50, max: 50 },
    autoscaleIntervalMs: 0,
    expressReserve: 0,
    // On this shared 2-core box a task can wait longer than the lane's default reclaim idle time (1.2 s) between
    // read and outcome while the saga worker shares the event loop; the janitor then takes it back again and again
    // and no outcome is ever written (seen: 0 of 3000 echo tasks in 220 s). A soak measures memory, not reclaim.
    minIdleMs: 30_000,
    logger,
  });
  const counts = { succeeded: 0, fenced: 0, reclaimed: 0 };
  express.on('task:succeeded', () => counts.succeeded++);
  express.on('task:fenced', () => counts.fenced++);
  express.on('orphans:reclaimed', ({ count }) => (counts.reclaimed += count));
  await express.start();
  const connection = await NativeConnection.connect({ address: required('SOAK_TEMPORAL_ADDRESS') });
  const saga = await startSagaWorker({
    config: loadConfig({ SAGALANE_LOG_LEVEL: 'error' }),
    connection,
    taskQueue: required('SOAK_TASK_QUEUE'),
    activities: createFastPipelineActivities().activities,
    logger,
    workerOptions: cacheOverride(),
  });
  const gc = (globalThis as { gc?: () => void }).gc;
  const started = performance.now();
  const sample = () => {
    gc?.();
    const m = process.memoryUsage();
    const s: MemorySample = {
      type: 'memory',
      t: (performance.now() - started) / 1000,
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      cachedWorkflows: saga.worker.getStatus().numCachedWorkflows,
      expressSucceeded: counts.succeeded,
      expressFenced: counts.fenced,
      orphansReclaimed: counts.reclaimed,
    };
    process.send?.(s);
  };
  sample();
  const timer = setInterval(sample, 1000);
  process.send?.({ type: 'ready' });
  process.on('message', (msg: { type?: string }) => {
    if (msg?.type !== 'stop') return;
    clearInterval(timer);
    sample();
    void Promise.all([express.stop(), saga.stop()])
      .then(() => connection.close())
      .then(() => process.exit(0));
  });
}

function cacheOverride(): { maxCachedWorkflows?: number } {
  const v = process.env.SOAK_MAX_CACHED_WORKFLOWS;
  if (!v) return {};
  // The SDK's own default: max(floor((maxHeap − 400 MB) × 250 / 1024 MB), 10) workflows.
  if (v === 'sdk') return { maxCachedWorkflows: undefined };
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2)
    throw new Error(`SOAK_MAX_CACHED_WORKFLOWS must be an integer >= 2 or sdk (got ${v})`);
  return { maxCachedWorkflows: n };
}

main().catch((err: unknown) => {
  process.stderr.write(`soak worker failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

/**
 * The process bench:soak watches: one express worker (the no-op `echo` type) and one saga worker (the research
 * pipeline with near-instant activities) in the same process, reporting its memory over IPC once a second, after
 * a full GC when run with --expose-gc (so the heap figure is live data, not garbage waiting to be collected).
 *
 * Env (bench plumbing): SOAK_TEMPORAL_ADDRESS, SOAK_TASK_QUEUE, SOAK_KEY_PREFIX, REDIS_URL.
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { ExpressWorker, echoTaskType } from '../../src/lane';
import { createLogger } from '../../src/logger';
import { startSagaWorker } from '../../src/workers/saga-worker';
import { createFastPipelineActivities } from './fast-pipeline-activities';

export interface MemorySample {
  type: 'memory';
  /** Seconds since the worker became ready. */
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`soak worker: ${name} must be set`);
  return v;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const logger = createLogger('error');
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const express = new ExpressWorker({
    types: [echoTaskType],
    redisUrl,
    keyPrefix: required('SOAK_KEY_PREFIX'),
    concurrency: { min: 50, max: 50 },
    autoscaleIntervalMs: 0,
    expressReserve: 0,
    logger,
  });
  await express.start();
  const connection = await NativeConnection.connect({ address: required('SOAK_TEMPORAL_ADDRESS') });
  const saga = await startSagaWorker({
    config: loadConfig({ SAGALANE_LOG_LEVEL: 'error' }),
    connection,
    taskQueue: required('SOAK_TASK_QUEUE'),
    activities: createFastPipelineActivities().activities,
    logger,
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

main().catch((err: unknown) => {
  process.stderr.write(`soak worker failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

/**
 * `npm run bench:soak`: memory of one worker process (express + saga worker) over 100,000 express tasks and 2,000
 * sagas run side by side. The worker reports RSS and (post-GC) heap once a second; the growth figure compares the
 * start of the steady state with the end. Writes bench/results/soak-<time>.json and the `soak` section of
 * docs/BENCHMARKS.md.
 *
 * Options: `--tasks <n>` (default 100000), `--sagas <n>` (default 2000).
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { Client, Connection } from '@temporalio/client';
import { startTemporalDevServer } from '../src/dev/temporal-server';
import { ExpressClient, echoTaskType } from '../src/lane';
import { RESEARCH_PIPELINE_WORKFLOW, pipelineWorkflowId } from '../src/workflows/pipeline-contract';
import { describeMachine } from './lib/machine';
import { Progress, status } from './lib/progress';
import { benchPrefix, deleteMatching, redisUrlFromEnv } from './lib/redis-keys';
import { commandLine, writeReport } from './lib/results';
import type { MemorySample } from './lib/soak-worker';
import { consoleTable, markdownTable, type Row } from './lib/table';

const MB = 1024 * 1024;
const SAGA_CONCURRENCY = 50;
const MAX_BACKLOG = 5000;

function intArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`${name} must be a positive integer (got ${process.argv[i + 1]})`);
  return v;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const mb = (bytes: number) => (bytes / MB).toFixed(1);

async function main(): Promise<void> {
  const tasks = intArg('--tasks', 100_000);
  const sagaCount = intArg('--sagas', 2_000);
  const startedAt = new Date();
  const redisUrl = redisUrlFromEnv();
  const admin = new Redis(redisUrl);
  const machine = await describeMachine(admin);
  const keyPrefix = benchPrefix('soak');
  const taskQueue = `bench-soak-${randomUUID().slice(0, 8)}`;
  status(`starting an in-memory Temporal dev server (load ${machine.loadAtStart.join(' ')})`);
  const server = await startTemporalDevServer({ logLevel: 'error' });

  status('starting the worker process (express + saga worker)');
  const child = fork(path.join(__dirname, 'lib', 'soak-worker.ts'), [], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: {
      ...process.env,
      SOAK_TEMPORAL_ADDRESS: server.address,
      SOAK_TASK_QUEUE: taskQueue,
      SOAK_KEY_PREFIX: keyPrefix,
      REDIS_URL: redisUrl,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const samples: MemorySample[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: MemorySample | { type: 'ready' }) => {
      if (m.type === 'memory') samples.push(m);
      if (m.type === 'ready') resolve();
    });
    child.once('exit', (code) => reject(new Error(`soak worker exited (${code}) before it was ready`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await ready;

  const client = new ExpressClient({ types: [echoTaskType], redisUrl, keyPrefix });
  const connection = await Connection.connect({ address: server.address });
  const temporal = new Client({ connection });
  const began = performance.now();
  let phaseEnds: { express?: number; sagas?: number } = {};
  try {
    const expressLoad = (async () => {
      const progress = new Progress('express tasks (echo) through the worker', tasks);
      let submitted = 0;
      const backlog = async () => (await client.stats(['echo'])).reduce((s, r) => s + r.length, 0);
      while (submitted < tasks) {
        const n = Math.min(1000, tasks - submitted);
        await client.submitMany(
          Array.from({ length: n }, (_, i) => ({
            type: 'echo',
            payload: { message: `soak ${submitted + i}` },
          })),
        );
        submitted += n;
        let waiting: number;
        while ((waiting = await backlog()) > MAX_BACKLOG) await sleep(20);
        progress.add(submitted - waiting - progress.count);
      }
      let waiting: number;
      while ((waiting = await backlog()) > 0) {
        progress.add(submitted - waiting - progress.count);
        await sleep(50);
      }
      progress.add(submitted - progress.count);
      progress.finish();
      phaseEnds = { ...phaseEnds, express: (performance.now() - began) / 1000 };
    })();
    const sagaLoad = (async () => {
      const progress = new Progress('sagas (4 steps, fast activities)', sagaCount);
      let next = 0;
      const runner = async () => {
        while (next < sagaCount) {
          next++;
          const handle = await temporal.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
            taskQueue,
            workflowId: pipelineWorkflowId('SOAK', randomUUID()),
            args: [{ idea: 'soak saga', symbol: 'SOAK' }],
          });
          await handle.result();
          progress.add();
        }
      };
      await Promise.all(Array.from({ length: SAGA_CONCURRENCY }, runner));
      progress.finish();
      phaseEnds = { ...phaseEnds, sagas: (performance.now() - began) / 1000 };
    })();
    await Promise.all([expressLoad, sagaLoad]);
    // A few more samples at rest: what stays after the load is what a leak would show.
    await sleep(3000);
  } finally {
    child.send({ type: 'stop' });
    await exited;
    await client.close();
    await connection.close();
    await server.stop();
    await deleteMatching(admin, `${keyPrefix}*`);
    admin.disconnect();
  }

  // Steady state starts once the first 10% of the run is behind us (JIT, caches, connection pools warmed up).
  const total = samples[samples.length - 1]!.t;
  const early = samples.filter((s) => s.t >= total * 0.1 && s.t <= total * 0.2);
  const late = samples.slice(-5);
  const growth = {
    rss: median(late.map((s) => s.rss)) - median(early.map((s) => s.rss)),
    heapUsed: median(late.map((s) => s.heapUsed)) - median(early.map((s) => s.heapUsed)),
  };
  const peakRss = Math.max(...samples.map((s) => s.rss));
  const timeline: Row[] = [0, 0.1, 0.25, 0.5, 0.75, 1].map((f) => {
    const s = samples.reduce((best, x) =>
      Math.abs(x.t - f * total) < Math.abs(best.t - f * total) ? x : best,
    );
    return {
      't (s)': s.t.toFixed(0),
      'RSS MB': mb(s.rss),
      'heap used MB (after GC)': mb(s.heapUsed),
      'heap total MB': mb(s.heapTotal),
    };
  });
  const summary: Row[] = [
    {
      measure: 'express tasks',
      value: tasks.toLocaleString('en-US'),
      note: `done at ${phaseEnds.express?.toFixed(0)} s`,
    },
    {
      measure: 'sagas',
      value: sagaCount.toLocaleString('en-US'),
      note: `${SAGA_CONCURRENCY} in flight; done at ${phaseEnds.sagas?.toFixed(0)} s`,
    },
    {
      measure: 'RSS growth (steady start → end)',
      value: `${mb(growth.rss)} MB`,
      note: growth.rss < 50 * MB ? 'target < 50 MB: met' : 'target < 50 MB: **missed**',
    },
    { measure: 'heap growth after GC', value: `${mb(growth.heapUsed)} MB`, note: '' },
    { measure: 'peak RSS', value: `${mb(peakRss)} MB`, note: '' },
  ];
  process.stdout.write(`\n${consoleTable(summary)}\n\n${consoleTable(timeline)}\n`);
  const file = writeReport({
    name: 'soak',
    command: commandLine('bench:soak'),
    machine,
    startedAt,
    markdown: [
      'One worker process serving both lanes; memory sampled once a second after a forced GC.',
      '',
      markdownTable(summary),
      '',
      markdownTable(timeline),
    ].join('\n'),
    data: { tasks, sagas: sagaCount, phaseEnds, growth, peakRss, samples },
  });
  status(`wrote ${file} and docs/BENCHMARKS.md (soak section)`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:soak failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

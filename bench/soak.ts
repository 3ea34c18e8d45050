/**
 * `npm run bench:soak`: memory of one worker process (express + saga worker) under express tasks and sagas run
 * side by side. The worker reports RSS, its parts and the saga worker's cached workflows once a second (after a
 * forced GC); the growth figure compares the start of the measured window with its end. Writes
 * bench/results/soak-<time>.json, the `soak` section of docs/BENCHMARKS.md and the curve as docs/soak-memory.svg.
 *
 * Options: `--minutes <m>`: run for m minutes (express paced at `--express-rate`, default 1000 tasks/s; sagas closed
 * loop at 50 in flight); growth is measured over the last 20 minutes (or the last two thirds of a shorter run).
 * Without `--minutes`: `--tasks <n>` (default 100000) and `--sagas <n>` (default 2000), as fast as they go.
 * Env `SOAK_MAX_CACHED_WORKFLOWS=<n>|sdk` overrides the saga worker's cache bound for an A/B run.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { Client, Connection } from '@temporalio/client';
import { startTemporalDevServer } from '../src/dev/temporal-server';
import { ExpressClient, echoTaskType } from '../src/lane';
import { RESEARCH_PIPELINE_WORKFLOW, pipelineWorkflowId } from '../src/workflows/research/pipeline-contract';
import { describeMachine } from './lib/machine';
import { Progress, status } from './lib/progress';
import { benchPrefix, deleteMatching, redisUrlFromEnv } from './lib/redis-keys';
import { commandLine, writeReport } from './lib/results';
import type { MemorySample } from './lib/soak-worker';
import { lineChartSvg } from './lib/svg-plot';
import { consoleTable, markdownTable, type Row } from './lib/table';
import fs from 'node:fs';

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

function numberArg(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!(v > 0)) throw new Error(`${name} must be a positive number (got ${process.argv[i + 1]})`);
  return v;
}

/**
 * A soak whose express worker runs nothing measures nothing (the 2026-12-01 09:48 run: its worker predated the slot
 * policy fix 3884a3f, where with `expressReserve: 0` a standard read blocked on the empty standard lane kept the
 * express room at 0, so the express `echo` stream never got a consumer). The run stops when the worker has reported
 * no finished express task this long after the first submission.
 */
const EXPRESS_STALL_MS = 30_000;

const SVG_PATH = path.resolve(__dirname, '..', 'docs', 'soak-memory.svg');
const GROWTH_WINDOW_S = 20 * 60;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const mb = (bytes: number) => (bytes / MB).toFixed(1);

async function main(): Promise<void> {
  const minutes = numberArg('--minutes');
  const expressRate = numberArg('--express-rate') ?? 1000;
  const deadline = minutes === undefined ? undefined : performance.now() + minutes * 60_000;
  const timeLeft = () => deadline === undefined || performance.now() < deadline;
  const tasks = deadline === undefined ? intArg('--tasks', 100_000) : Number.POSITIVE_INFINITY;
  const sagaCount = deadline === undefined ? intArg('--sagas', 2_000) : Number.POSITIVE_INFINITY;
  let tasksDone = 0;
  let sagasDone = 0;
  let sagaErrors = 0;
  let tasksLeft = 0;
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
      const progress = new Progress(
        'express tasks (echo) through the worker',
        deadline === undefined ? tasks : Math.round(expressRate * minutes! * 60),
      );
      let submitted = 0;
      const backlog = async () => (await client.stats(['echo'])).reduce((s, r) => s + r.length, 0);
      const firstSubmit = performance.now();
      const assertConsuming = () => {
        const ran = samples.at(-1)?.expressSucceeded ?? 0;
        if (ran === 0 && performance.now() - firstSubmit > EXPRESS_STALL_MS) {
          throw new Error(
            `the worker finished no express task in ${EXPRESS_STALL_MS / 1000} s (${submitted} submitted, ` +
              `${samples.at(-1)?.expressFenced ?? 0} outcomes fenced, ${samples.at(-1)?.orphansReclaimed ?? 0} reclaimed): ` +
              'the express side is not consuming, so this run would measure nothing',
          );
        }
      };
      while (submitted < tasks && timeLeft()) {
        const n = Math.min(1000, tasks - submitted);
        // Paced in time mode: batches of 100 at `expressRate` per second.
        if (deadline !== undefined) {
          const due = began + ((submitted + 100) / expressRate) * 1000;
          if (due > performance.now()) await sleep(due - performance.now());
        }
        await client.submitMany(
          Array.from({ length: deadline === undefined ? n : 100 }, (_, i) => ({
            type: 'echo',
            payload: { message: `soak ${submitted + i}` },
          })),
        );
        submitted += deadline === undefined ? n : 100;
        let waiting: number;
        while ((waiting = await backlog()) > MAX_BACKLOG) {
          assertConsuming();
          await sleep(20);
        }
        assertConsuming();
        progress.add(submitted - waiting - progress.count);
      }
      let waiting: number;
      // A timed run waits at most 30 s past its end for the backlog; what is left is reported, not waited for.
      const drainUntil = deadline === undefined ? Number.POSITIVE_INFINITY : deadline + 30_000;
      while ((waiting = await backlog()) > 0 && performance.now() < drainUntil) {
        progress.add(submitted - waiting - progress.count);
        await sleep(50);
      }
      progress.add(submitted - waiting - progress.count);
      progress.finish();
      tasksDone = submitted - waiting;
      tasksLeft = waiting;
      phaseEnds = { ...phaseEnds, express: (performance.now() - began) / 1000 };
    })();
    const sagaLoad = (async () => {
      const progress = new Progress(
        'sagas (4 steps, fast activities)',
        deadline === undefined ? sagaCount : Math.round(20 * minutes! * 60),
      );
      let next = 0;
      const runner = async () => {
        while (next < sagaCount && timeLeft()) {
          next++;
          // On a starved box a saga can time out or a result poll fail: count it, keep the load going.
          try {
            const handle = await temporal.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
              taskQueue,
              workflowId: pipelineWorkflowId('SOAK', randomUUID()),
              args: [{ idea: 'soak saga', symbol: 'SOAK' }],
            });
            await handle.result();
            sagasDone++;
          } catch {
            sagaErrors++;
          }
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

  // The measured window: the last 20 minutes of a long run, else the last two thirds (JIT, caches and connection
  // pools warm up in the first third). Growth = median of the last 30 s minus median of the window's first 30 s.
  const total = samples[samples.length - 1]!.t;
  const windowStart = total >= GROWTH_WINDOW_S * 1.25 ? total - GROWTH_WINDOW_S : total / 3;
  const windowLabel =
    total >= GROWTH_WINDOW_S * 1.25
      ? 'last 20 minutes'
      : `last ${((total - windowStart) / 60).toFixed(1)} of ${(total / 60).toFixed(1)} minutes (run shorter than 25 min)`;
  const early = samples.filter((s) => s.t >= windowStart && s.t <= windowStart + 30);
  const late = samples.filter((s) => s.t >= total - 30);
  const growthOf = (pick: (s: MemorySample) => number) => median(late.map(pick)) - median(early.map(pick));
  const native = (s: MemorySample) => s.rss - s.heapTotal - s.external;
  const growth = {
    rss: growthOf((s) => s.rss),
    heapUsed: growthOf((s) => s.heapUsed),
    heapTotal: growthOf((s) => s.heapTotal),
    external: growthOf((s) => s.external),
    native: growthOf(native),
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
      'external MB': mb(s.external),
      'rest of RSS MB': mb(native(s)),
      'cached workflows': String(s.cachedWorkflows ?? '–'),
    };
  });
  const last = samples.at(-1)!;
  const summary: Row[] = [
    {
      measure: 'express tasks run by the worker',
      value: last.expressSucceeded.toLocaleString('en-US'),
      note:
        `${deadline === undefined ? '' : `paced at ${expressRate}/s; `}${(tasksDone + tasksLeft).toLocaleString('en-US')} submitted, ` +
        `${tasksLeft} left in the stream; ${last.expressFenced} fenced, ${last.orphansReclaimed} reclaimed; done at ${phaseEnds.express?.toFixed(0)} s`,
    },
    {
      measure: 'sagas',
      value: sagasDone.toLocaleString('en-US'),
      note: `${SAGA_CONCURRENCY} in flight; ${sagaErrors} failed; done at ${phaseEnds.sagas?.toFixed(0)} s`,
    },
    {
      measure: `RSS growth (${windowLabel})`,
      value: `${mb(growth.rss)} MB`,
      // The target is about the last 20 minutes of a 30-minute run; a shorter run cannot meet it.
      note:
        total < GROWTH_WINDOW_S * 1.25
          ? 'target < 50 MB over the last 20 min: not judged (run too short)'
          : growth.rss < 50 * MB
            ? 'target < 50 MB: met'
            : 'target < 50 MB: **missed**',
    },
    {
      measure: '… of it: V8 heap reserved (heap total)',
      value: `${mb(growth.heapTotal)} MB`,
      note: `live heap after GC: ${mb(growth.heapUsed)} MB`,
    },
    { measure: '… of it: external (Buffers, ioredis)', value: `${mb(growth.external)} MB`, note: '' },
    {
      measure: '… of it: rest of RSS',
      value: `${mb(growth.native)} MB`,
      note: 'workflow thread isolate, Temporal core (Rust), code, allocator',
    },
    { measure: 'peak RSS', value: `${mb(peakRss)} MB`, note: '' },
    {
      measure: 'saga worker maxCachedWorkflows',
      value: process.env.SOAK_MAX_CACHED_WORKFLOWS ?? '250 (shipped default)',
      note: `cached at the end: ${samples.at(-1)?.cachedWorkflows ?? '–'}, peak ${Math.max(...samples.map((x) => x.cachedWorkflows ?? 0))}`,
    },
  ];
  process.stdout.write(`\n${consoleTable(summary)}\n\n${consoleTable(timeline)}\n`);
  const minutesOf = (xs: MemorySample[], pick: (s: MemorySample) => number) =>
    xs.filter((_, i) => i % 5 === 0 || i === xs.length - 1).map((x) => ({ x: x.t / 60, y: pick(x) / MB }));
  fs.writeFileSync(
    SVG_PATH,
    lineChartSvg({
      title: `bench:soak worker memory (${commandLine('bench:soak').replace(/^npm run /, '')}, ${startedAt.toISOString().slice(0, 16)} UTC)`,
      xLabel: 'minutes since the worker was ready',
      yLabel: 'MB',
      rightLabel: 'cached workflows',
      band: { from: windowStart / 60, to: total / 60, label: `growth window: RSS ${mb(growth.rss)} MB` },
      series: [
        { label: 'RSS', color: '#c0392b', points: minutesOf(samples, (x) => x.rss) },
        { label: 'V8 heap total', color: '#2471a3', points: minutesOf(samples, (x) => x.heapTotal) },
        { label: 'V8 heap used (after GC)', color: '#5dade2', points: minutesOf(samples, (x) => x.heapUsed) },
        { label: 'external', color: '#7d3c98', points: minutesOf(samples, (x) => x.external) },
        { label: 'rest of RSS', color: '#b9770e', points: minutesOf(samples, native) },
        {
          label: 'cached workflows (right axis)',
          color: '#555',
          dashed: true,
          right: true,
          points: minutesOf(samples, (x) => (x.cachedWorkflows ?? 0) * MB),
        },
      ],
    }),
  );
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
      '',
      `![RSS and its parts over the run](soak-memory.svg) (docs/soak-memory.svg, drawn by this run)`,
    ].join('\n'),
    data: {
      minutes,
      expressRate,
      tasks: tasksDone,
      expressSucceeded: last.expressSucceeded,
      sagas: sagasDone,
      phaseEnds,
      windowStart,
      growth,
      peakRss,
      samples,
    },
  });
  status(`wrote ${file}, docs/soak-memory.svg and docs/BENCHMARKS.md (soak section)`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:soak failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

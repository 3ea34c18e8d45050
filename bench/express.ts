/**
 * `npm run bench:express`: the express lane against BullMQ and the raw Redis Streams limit, on the same Redis, in
 * one run. Prints progress on stderr, tables on stdout, and writes bench/results/express-<time>.json and the
 * `express` section of docs/BENCHMARKS.md.
 *
 * Options: `--scale <f>` multiplies every duration (e.g. 0.3 for a smoke run; figures are then noisier);
 * `--only raw,bullmq,lane,lane-cpu,agent` runs some parts only and writes nothing; `--modes closed,saturation,paced`
 * runs some load shapes only (also writes nothing); `--trace` times each paced lane round trip's phases (submit,
 * read, dispatch, run+write, notify, fetch) with GC pauses and event-loop delay (bench/lib/express-trace.ts);
 * `--cluster` runs the Redis Cluster comparison of bench/express-cluster.ts instead; `--tracing [discard|otlp]` runs
 * the lane with OpenTelemetry tracing off and on, alternately, instead (bench/express-tracing.ts; not `--trace`);
 * `--versus-temporal [--runs 3]` runs the lane head to head with a one-activity Temporal workflow and Temporal's
 * task-queue priority instead (bench/versus-temporal.ts).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { createAgentTaskTypes } from '../src/activities/research/agent-task-types';
import { echoTaskType, hashTaskType } from '../src/lane/builtin-task-types';
import { KEEPALIVE } from '../src/lane/janitor-scripts';
import { runScript } from '../src/lane/scripts';
import { agentDepsFromConfig } from '../src/activities/research/agents';
import { planFromIdea } from '../src/activities/research/strategy-plan';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { BullMqSubject, LaneSubject, RawStreamsSubject, type ExpressSubject } from './lib/express-subjects';
import { closedLoop, paced, saturation, type LoadResult } from './lib/load';
import { profileLoad, type CostPerTask } from './lib/redis-profile';
import { describeMachine } from './lib/machine';
import { status } from './lib/progress';
import { benchPrefix, deleteMatching, redisUrlFromEnv } from './lib/redis-keys';
import { commandLine, writeReport } from './lib/results';
import { fmtMs, fmtRate, fmtRatio } from './lib/stats';
import { consoleTable, markdownTable, type Row } from './lib/table';
import { scaleArg } from './lib/args';
import { phaseLines, PHASES, watchProcess, type PhaseReport } from './lib/express-trace';
import { runClusterBench } from './express-cluster';
import { runTracingBench, tracingArg } from './express-tracing';
import { runVersusTemporal } from './versus-temporal';
import { freePort, portAnswers } from '../test/helpers/ports';

const CONCURRENCIES = [1, 10, 50, 100];
const SATURATION_CONCURRENCY = 50;
const PACED_RATE = 1000;

interface Measurement {
  subject: string;
  mode: 'closed-loop' | 'saturation' | 'paced';
  concurrency: number;
  offeredPerSecond?: number;
  result: LoadResult;
  cost?: CostPerTask;
  /** Keepalive calls/entries of the lane worker during a saturation run. */
  keepalive?: { calls: number; ids: number; seconds: number };
  /** Paced lane runs: where the round trips' time went (bench/lib/express-trace.ts). */
  phases?: PhaseReport;
}

/** `--only raw,bullmq,lane,agent` runs a subset (for trying things out; nothing is written then). */
function onlyArgGiven(): boolean {
  return process.argv.includes('--only') || process.argv.includes('--modes');
}

/** `--modes closed,saturation,paced`: the load shapes to run (all by default). */
function modesArg(): (mode: 'closed' | 'saturation' | 'paced') => boolean {
  const i = process.argv.indexOf('--modes');
  if (i < 0) return () => true;
  const modes = (process.argv[i + 1] ?? '').split(',');
  const unknown = modes.filter((m) => !['closed', 'saturation', 'paced'].includes(m));
  if (unknown.length)
    throw new Error(`--modes takes closed, saturation, paced (unknown: ${unknown.join(', ')})`);
  return (mode) => modes.includes(mode);
}
function onlyArg(): (part: string) => boolean {
  const i = process.argv.indexOf('--only');
  if (i < 0) return () => true;
  const parts = (process.argv[i + 1] ?? '').split(',');
  const known = ['raw', 'bullmq', 'lane', 'lane-cpu', 'agent'];
  const unknown = parts.filter((p) => !known.includes(p));
  if (unknown.length)
    throw new Error(`--only takes a comma list of ${known.join(', ')} (unknown: ${unknown.join(', ')})`);
  return (part) => parts.includes(part);
}

async function measureSubject(
  admin: Redis,
  subject: ExpressSubject,
  scale: number,
  what: { concurrencies: number[]; saturation: boolean; paced: boolean },
): Promise<Measurement[]> {
  const out: Measurement[] = [];
  const mode = modesArg();
  for (const c of mode('closed') ? what.concurrencies : []) {
    await subject.start(c);
    try {
      const result = await closedLoop(
        { label: `${subject.name} closed loop c=${c}`, concurrency: c, durationMs: 3000 * scale },
        () => subject.roundTrip(),
      );
      out.push({ subject: subject.name, mode: 'closed-loop', concurrency: c, result });
    } finally {
      await stopWithin(subject);
    }
  }
  if (what.saturation && mode('saturation')) {
    await subject.start(SATURATION_CONCURRENCY);
    const satStart = performance.now();
    try {
      const { result, cost } = await profileLoad(
        admin,
        () =>
          saturation(
            { label: `${subject.name} saturation c=${SATURATION_CONCURRENCY}`, durationMs: 5000 * scale },
            (n) => subject.enqueue(n),
            () => subject.completed(),
          ),
        // Counted over the whole run (warm-up included), like the counters.
        () => subject.completed(),
      );
      const counts = subject instanceof LaneSubject ? subject.keepaliveCounts() : undefined;
      out.push({
        subject: subject.name,
        mode: 'saturation',
        concurrency: SATURATION_CONCURRENCY,
        result,
        cost,
        ...(counts ? { keepalive: { ...counts, seconds: (performance.now() - satStart) / 1000 } } : {}),
      });
    } finally {
      await stopWithin(subject);
    }
  }
  if (what.paced && mode('paced')) {
    await subject.start(SATURATION_CONCURRENCY);
    try {
      const watch = watchProcess();
      const pacedFrom = performance.now();
      // CPU and commands per round trip too (warm-up included, as in saturation): what a lone task costs.
      const { result, cost } = await profileLoad(
        admin,
        () =>
          paced(
            {
              label: `${subject.name} paced ${PACED_RATE}/s`,
              ratePerSecond: PACED_RATE,
              durationMs: 8000 * scale,
            },
            () => subject.roundTrip(),
          ),
        // Every round trip offered, warm-up included (the counters see them all).
        () => Math.round(((1000 + 8000 * scale) / 1000) * PACED_RATE),
      );
      // paced()'s warm-up second is left out of its latencies: the same for the traces.
      const traces =
        subject instanceof LaneSubject ? subject.traces().filter((t) => t.called >= pacedFrom + 1000) : [];
      const phases = watch.finish(traces);
      out.push({
        subject: subject.name,
        mode: 'paced',
        concurrency: SATURATION_CONCURRENCY,
        offeredPerSecond: PACED_RATE,
        result,
        cost,
        ...(phases ? { phases } : {}),
      });
    } finally {
      await stopWithin(subject);
    }
  }
  return out;
}

/**
 * Redis time of the KEEPALIVE script: 300 calls refreshing 50 entries held by one consumer, and 300 with 1
 * entry, from INFO commandstats (evalsha µs); the difference gives the per-entry part. Measured on a redis-server of
 * the bench's own (no persistence, as the shared one runs): the counter is global, and on the shared Redis every
 * other client's EVALSHA in between would count as ours. Its call count is checked to be exactly ours.
 */
async function measureKeepaliveCost(): Promise<{ usPerCall: number; usPerId: number }> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-bench-keepalive-'));
  const server = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const admin = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true });
  try {
    for (const until = Date.now() + 15_000; !(await portAnswers(port));) {
      if (server.exitCode !== null || Date.now() > until)
        throw new Error(`the bench's own redis-server on ${port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await admin.connect();
    const stream = 'keepalive:stream';
    await admin.call('XGROUP', 'CREATE', stream, 'g', '0', 'MKSTREAM');
    const p = admin.pipeline();
    for (let i = 0; i < 50; i++) p.xadd(stream, '*', 'k', String(i));
    await p.exec();
    await admin.call('XREADGROUP', 'GROUP', 'g', 'k', 'COUNT', 50, 'STREAMS', stream, '>');
    const ids = ((await admin.call('XPENDING', stream, 'g', '-', '+', 50)) as string[][]).map((e) => e[0]!);
    const keepalive = (n: number) => runScript(admin, KEEPALIVE, [stream], ['g', 'k', ...ids.slice(0, n)]);
    await keepalive(1); // loads the script: the measured calls are all EVALSHA hits
    const evalsha = async () => {
      const stats = (await admin.info('commandstats')) as string;
      const m = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec(stats);
      return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
    };
    const time = async (n: number) => {
      const before = await evalsha();
      for (let i = 0; i < 300; i++) await keepalive(n);
      const after = await evalsha();
      if (after.calls - before.calls !== 300)
        throw new Error(`keepalive cost: ${after.calls - before.calls} EVALSHA calls counted, 300 made`);
      return (after.usec - before.usec) / 300;
    };
    const one = await time(1);
    const fifty = await time(50);
    const usPerId = Math.max(0, (fifty - one) / 49);
    return { usPerCall: fifty, usPerId };
  } finally {
    admin.disconnect();
    server.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A stop that never returns must not hang the whole benchmark: note it and go on. */
const stopTimeouts: string[] = [];
async function stopWithin(subject: ExpressSubject, ms = 30_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    subject.stop().then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    stopTimeouts.push(subject.name);
    status(`WARNING: ${subject.name}: stop() did not return within ${ms / 1000} s; going on without it`);
  }
}

function rowOf(m: Measurement): Row {
  const l = m.result.latency;
  return {
    system: m.subject,
    mode: m.mode === 'paced' ? `paced ${m.offeredPerSecond}/s offered` : m.mode,
    concurrency: String(m.concurrency),
    'tasks/s': fmtRate(m.result.tasksPerSecond),
    'p50 ms': l ? fmtMs(l.p50) : '–',
    'p95 ms': l ? fmtMs(l.p95) : '–',
    'p99 ms': l ? fmtMs(l.p99) : '–',
    tasks: String(m.result.completed),
    errors: String(m.result.errors),
  };
}

/** The markdown of the traced paced runs (`--trace`): per-phase table and what the process did meanwhile. */
function phaseSection(phaseRows: Row[], processRows: Row[]): string[] {
  return [
    '',
    "#### Where the paced lane round trips' time goes (`--trace`; latency from the call, the pacer's lag left out)",
    '',
    'Phases: submit (SUBMIT round trip), read (until the worker buffers the entry), dispatch (buffer to handler',
    'start), run+write (handler, completion batch, COMPLETE round trip), notify (stored to the completion message),',
    "fetch (message to `submitAndWait` returning: the client's HGETALL).",
    '',
    markdownTable(phaseRows),
    '',
    markdownTable(processRows),
  ];
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    // The module comment is the reference; without this, `--help` would start a full run.
    const doc = /\/\*\*([\s\S]*?)\*\//.exec(fs.readFileSync(__filename, 'utf8'))?.[1] ?? '';
    return void process.stdout.write(`${doc.replace(/^ \* ?/gm, '').trim()}\n`);
  }
  const scale = scaleArg();
  if (process.argv.includes('--versus-temporal')) {
    const i = process.argv.indexOf('--runs');
    return runVersusTemporal(scale, i >= 0 ? Number(process.argv[i + 1]) || 1 : 1);
  }
  const tracing = tracingArg();
  if (tracing)
    return runTracingBench(tracing, scale, (admin, subject) =>
      measureSubject(admin, subject, scale, { concurrencies: [], saturation: true, paced: true }),
    );
  // `--cluster`: the Redis Cluster comparison (bench/express-cluster.ts) instead of the comparison below.
  if (process.argv.includes('--cluster')) return runClusterBench(scale);
  const redisUrl = redisUrlFromEnv();
  const admin = new Redis(redisUrl);
  const startedAt = new Date();
  const machine = await describeMachine(admin);
  const prefix = benchPrefix('express');
  status(`Redis ${redisUrl}, key prefix ${prefix}, load ${machine.loadAtStart.join(' ')}`);

  const agentRedis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const agentPrefix = `${prefix}:agents`;
  const config = loadConfig({ SAGALANE_KEY_PREFIX: agentPrefix, SAGALANE_LOG_LEVEL: 'error' });
  const agentTypes = createAgentTaskTypes(agentDepsFromConfig(config, agentRedis, createLogger('error')));
  const codegen = agentTypes.find((t) => t.name === 'codegen')!;
  const plan = planFromIdea('moving-average crossover, 10 and 50 day', 'DEMO');

  const raw = new RawStreamsSubject(redisUrl, `${prefix}:raw`);
  const bull = new BullMqSubject(redisUrl, `${prefix}-bull`);
  // Tracing costs the bench process 20-45 µs per paced round trip (6-12 %, measured alternately in one process),
  // so the target runs go without it; `--trace` adds the per-phase attribution.
  const trace = process.argv.includes('--trace');
  const lane = new LaneSubject(
    'sagalane lane (echo)',
    redisUrl,
    `${prefix}:lane`,
    echoTaskType,
    () => ({ message: 'benchmark' }),
    { trace },
  );
  const agentLane = new LaneSubject(
    'sagalane lane (codegen agent)',
    redisUrl,
    `${prefix}:agent-lane`,
    codegen,
    (i) => ({ sagaId: `bench-${i}`, plan }),
  );

  const laneCpu = new LaneSubject(
    'sagalane lane (echo; standard lane saturated by CPU hash tasks; default worker options)',
    redisUrl,
    `${prefix}:lane-cpu`,
    echoTaskType,
    () => ({ message: 'benchmark' }),
    // ~20 ms of CPU per hash task, 200 always waiting: the standard lane never empties.
    {
      background: { type: hashTaskType, payload: { data: 'x', rounds: 20_000 }, backlog: 200 },
      defaultWorker: true,
      trace,
    },
  );

  const all = { concurrencies: CONCURRENCIES, saturation: true, paced: true };
  const only = onlyArg();
  const measurements: Measurement[] = [];
  try {
    if (only('raw')) measurements.push(...(await measureSubject(admin, raw, scale, all)));
    if (only('bullmq')) measurements.push(...(await measureSubject(admin, bull, scale, all)));
    if (only('lane')) measurements.push(...(await measureSubject(admin, lane, scale, all)));
    if (only('lane-cpu'))
      measurements.push(
        ...(await measureSubject(admin, laneCpu, scale, {
          concurrencies: [],
          saturation: false,
          paced: true,
        })),
      );
    if (only('agent'))
      measurements.push(
        ...(await measureSubject(admin, agentLane, scale, {
          concurrencies: [1, 10, 50],
          saturation: true,
          paced: false,
        })),
      );
  } finally {
    status('cleaning up');
    await raw.close();
    await bull.close(admin);
    await lane.close(admin);
    await laneCpu.close(admin);
    await agentLane.close(admin);
    await deleteMatching(admin, `${prefix}*`);
    agentRedis.disconnect();
  }
  const keepaliveCost = await measureKeepaliveCost();
  if (onlyArgGiven()) {
    process.stdout.write(`keepalive: ${JSON.stringify(keepaliveCost)}\n`);
    process.stdout.write(`\n${consoleTable(measurements.map(rowOf))}\n`);
    for (const m of measurements.filter((x) => x.cost))
      process.stdout.write(`${m.subject}: ${JSON.stringify(m.cost)}\n`);
    for (const m of measurements.filter((x) => x.phases))
      process.stdout.write(`${phaseLines(m.subject, m.phases!)}\n`);
    status('--only given: partial run, nothing written');
    admin.disconnect();
    return;
  }

  const rows = measurements.map(rowOf);
  const find = (subject: string, mode: Measurement['mode'], c: number) =>
    measurements.find((m) => m.subject === subject && m.mode === mode && m.concurrency === c)?.result;
  const ratioRows: Row[] = [];
  const ratioOf = (mode: Measurement['mode'], c: number, label: string) => {
    const l = find(lane.name, mode, c);
    const b = find(bull.name, mode, c);
    const r = find(raw.name, mode, c);
    if (!l || !b || !r) return;
    ratioRows.push({
      load: label,
      'lane tasks/s': fmtRate(l.tasksPerSecond),
      'BullMQ tasks/s': fmtRate(b.tasksPerSecond),
      'raw tasks/s': fmtRate(r.tasksPerSecond),
      'lane ÷ BullMQ': fmtRatio(l.tasksPerSecond / b.tasksPerSecond),
      'lane ÷ raw': fmtRatio(l.tasksPerSecond / r.tasksPerSecond),
    });
  };
  ratioOf('saturation', SATURATION_CONCURRENCY, `saturation, concurrency ${SATURATION_CONCURRENCY}`);
  for (const c of CONCURRENCIES) ratioOf('closed-loop', c, `closed loop, ${c} in flight`);

  const sat = {
    lane: find(lane.name, 'saturation', SATURATION_CONCURRENCY)!,
    bull: find(bull.name, 'saturation', SATURATION_CONCURRENCY)!,
    raw: find(raw.name, 'saturation', SATURATION_CONCURRENCY)!,
  };
  const lanePaced = find(lane.name, 'paced', SATURATION_CONCURRENCY)!;
  const cpuPaced = find(laneCpu.name, 'paced', SATURATION_CONCURRENCY)!;
  const check = (ok: boolean) => (ok ? 'met' : '**missed**');
  const targetRows: Row[] = [
    {
      target: 'lane throughput ≥ 3× BullMQ (saturation)',
      measured: fmtRatio(sat.lane.tasksPerSecond / sat.bull.tasksPerSecond),
      result: check(sat.lane.tasksPerSecond >= 3 * sat.bull.tasksPerSecond),
    },
    {
      target: 'lane throughput ≥ 50% of raw streams (saturation)',
      measured: `${((100 * sat.lane.tasksPerSecond) / sat.raw.tasksPerSecond).toFixed(0)}%`,
      result: check(sat.lane.tasksPerSecond >= 0.5 * sat.raw.tasksPerSecond),
    },
    {
      target: `lane p95 < 5 ms at ${PACED_RATE} tasks/s offered`,
      measured: `${fmtMs(lanePaced.latency!.p95)} ms`,
      result: check(lanePaced.latency!.p95 < 5),
    },
    {
      target: `express p99 < 10 ms at ${PACED_RATE}/s, standard lane saturated by CPU-bound tasks`,
      measured: `${fmtMs(cpuPaced.latency!.p99)} ms`,
      result: check(cpuPaced.latency!.p99 < 10),
    },
  ];
  const laneSat = measurements.find((m) => m.subject === lane.name && m.mode === 'saturation');
  const ka = laneSat?.keepalive;
  const keepaliveRows: Row[] = [
    {
      'Redis µs per keepalive call (50 held entries)': keepaliveCost.usPerCall.toFixed(1),
      'Redis µs per held entry refreshed': keepaliveCost.usPerId.toFixed(2),
      'calls/s during lane saturation': ka ? (ka.calls / ka.seconds).toFixed(1) : '–',
      'entries refreshed/s during lane saturation': ka ? (ka.ids / ka.seconds).toFixed(0) : '–',
      'Redis µs/s spent on keepalive (≈ share of one core)': ka
        ? `${((ka.calls * keepaliveCost.usPerCall + ka.ids * keepaliveCost.usPerId) / ka.seconds).toFixed(0)} (${(
            (ka.calls * keepaliveCost.usPerCall + ka.ids * keepaliveCost.usPerId) /
            ka.seconds /
            10_000
          ).toFixed(2)}%)`
        : '–',
    },
  ];

  const costRows: Row[] = measurements
    .filter((m) => m.cost)
    .map((m) => ({
      system: m.subject,
      mode: m.mode,
      'Redis CPU µs/task': m.cost!.redisCpuUs.toFixed(1),
      'bench process CPU µs/task': m.cost!.nodeCpuUs.toFixed(1),
      'Redis commands per task (µs/task)': m
        .cost!.commands.slice(0, 6)
        .map((c) => `${c.command} ×${c.callsPerTask.toFixed(2)} (${c.usPerTask.toFixed(1)})`)
        .join(', '),
    }));
  const phaseRows: Row[] = measurements
    .filter((m) => m.phases)
    .flatMap((m) =>
      PHASES.map((p) => ({
        system: m.subject,
        phase: p,
        'p50 ms': fmtMs(m.phases!.phases[p].p50),
        'p95 ms': fmtMs(m.phases!.phases[p].p95),
        'p99 ms': fmtMs(m.phases!.phases[p].p99),
        'mean ms, slowest 5 %': fmtMs(m.phases!.slowest5pct[p]),
        'mean ms, fastest half': fmtMs(m.phases!.median50pct[p]),
      })),
    );
  const processRows: Row[] = measurements
    .filter((m) => m.phases)
    .map((m) => ({
      system: m.subject,
      'round trip from the call p50/p95/p99 ms': `${fmtMs(m.phases!.total.p50)} / ${fmtMs(m.phases!.total.p95)} / ${fmtMs(m.phases!.total.p99)}`,
      'GC pauses (≥ 2 ms)': `${m.phases!.gc.count} (${m.phases!.gc.over2ms})`,
      'GC ms in all / longest': `${fmtMs(m.phases!.gc.totalMs)} / ${fmtMs(m.phases!.gc.maxMs)}`,
      'event-loop delay p99 / max ms': `${fmtMs(m.phases!.eventLoopDelay.p99)} / ${fmtMs(m.phases!.eventLoopDelay.max)}`,
    }));
  const columns = [
    'system',
    'mode',
    'concurrency',
    'tasks/s',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'tasks',
    'errors',
  ];
  process.stdout.write(
    `\n${consoleTable(rows, columns)}\n\n${consoleTable(ratioRows)}\n\n${consoleTable(targetRows)}\n\n${consoleTable(keepaliveRows)}\n\n${consoleTable(costRows)}\n\n${consoleTable(phaseRows)}\n\n${consoleTable(processRows)}\n`,
  );

  const markdown = [
    '#### Throughput and latency',
    '',
    markdownTable(rows, columns),
    '',
    '#### Ratios (same Redis, same run)',
    '',
    markdownTable(ratioRows),
    '',
    '#### Targets',
    '',
    markdownTable(targetRows),
    '',
    '#### Keepalive cost (the price of the 1.2 s orphan detection: every held entry re-claimed every 300 ms)',
    '',
    markdownTable(keepaliveRows),
    '',
    ...(stopTimeouts.length
      ? [
          `**stop() did not return within 30 s for: ${stopTimeouts.join(', ')}** (see the analysis below).`,
          '',
        ]
      : []),
    '#### Cost per task during the saturation and paced runs (Redis INFO cpu/commandstats, process.cpuUsage)',
    '',
    markdownTable(costRows),
    ...(phaseRows.length ? phaseSection(phaseRows, processRows) : []),
  ].join('\n');
  const file = writeReport({
    name: 'express',
    command: commandLine('bench:express'),
    machine,
    startedAt,
    markdown,
    data: {
      scale,
      concurrencies: CONCURRENCIES,
      saturationConcurrency: SATURATION_CONCURRENCY,
      measurements,
    },
  });
  status(`wrote ${file} and docs/BENCHMARKS.md (express section)`);
  admin.disconnect();
  // A consumer whose stop timed out may still hold handles open.
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:express failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

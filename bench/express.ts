/**
 * `npm run bench:express`: the express lane against BullMQ and the raw Redis Streams limit, on the same Redis, in
 * one run. Prints progress on stderr, tables on stdout, and writes bench/results/express-<time>.json and the
 * `express` section of docs/BENCHMARKS.md.
 *
 * Options: `--scale <f>` multiplies every duration (e.g. 0.3 for a smoke run; figures are then noisier);
 * `--only raw,bullmq,lane,agent` runs some parts only and writes nothing.
 */
import Redis from 'ioredis';
import { createAgentTaskTypes } from '../src/lane/agent-task-types';
import { echoTaskType } from '../src/lane/builtin-task-types';
import { agentDepsFromConfig } from '../src/activities/agents';
import { planFromIdea } from '../src/activities/strategy-plan';
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
}

/** `--only raw,bullmq,lane,agent` runs a subset (for trying things out; nothing is written then). */
function onlyArgGiven(): boolean {
  return process.argv.includes('--only');
}
function onlyArg(): (part: string) => boolean {
  const i = process.argv.indexOf('--only');
  if (i < 0) return () => true;
  const parts = (process.argv[i + 1] ?? '').split(',');
  const known = ['raw', 'bullmq', 'lane', 'agent'];
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
  for (const c of what.concurrencies) {
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
  if (what.saturation) {
    await subject.start(SATURATION_CONCURRENCY);
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
      out.push({
        subject: subject.name,
        mode: 'saturation',
        concurrency: SATURATION_CONCURRENCY,
        result,
        cost,
      });
    } finally {
      await stopWithin(subject);
    }
  }
  if (what.paced) {
    await subject.start(SATURATION_CONCURRENCY);
    try {
      const result = await paced(
        {
          label: `${subject.name} paced ${PACED_RATE}/s`,
          ratePerSecond: PACED_RATE,
          durationMs: 8000 * scale,
        },
        () => subject.roundTrip(),
      );
      out.push({
        subject: subject.name,
        mode: 'paced',
        concurrency: SATURATION_CONCURRENCY,
        offeredPerSecond: PACED_RATE,
        result,
      });
    } finally {
      await stopWithin(subject);
    }
  }
  return out;
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

async function main(): Promise<void> {
  const scale = scaleArg();
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
  const lane = new LaneSubject('sagalane lane (echo)', redisUrl, `${prefix}:lane`, echoTaskType, () => ({
    message: 'benchmark',
  }));
  const agentLane = new LaneSubject(
    'sagalane lane (codegen agent)',
    redisUrl,
    `${prefix}:agent-lane`,
    codegen,
    (i) => ({ sagaId: `bench-${i}`, plan }),
  );

  const all = { concurrencies: CONCURRENCIES, saturation: true, paced: true };
  const only = onlyArg();
  const measurements: Measurement[] = [];
  try {
    if (only('raw')) measurements.push(...(await measureSubject(admin, raw, scale, all)));
    if (only('bullmq')) measurements.push(...(await measureSubject(admin, bull, scale, all)));
    if (only('lane')) measurements.push(...(await measureSubject(admin, lane, scale, all)));
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
    await agentLane.close(admin);
    await deleteMatching(admin, `${prefix}*`);
    agentRedis.disconnect();
  }
  if (onlyArgGiven()) {
    process.stdout.write(`\n${consoleTable(measurements.map(rowOf))}\n`);
    for (const m of measurements.filter((x) => x.cost))
      process.stdout.write(`${m.subject}: ${JSON.stringify(m.cost)}\n`);
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
  const check = (ok: boolean) => (ok ? 'met' : '**missed**');
  const targetRows: Row[] = [
    {
      target: 'lane throughput ≥ 1.5× BullMQ (saturation)',
      measured: fmtRatio(sat.lane.tasksPerSecond / sat.bull.tasksPerSecond),
      result: check(sat.lane.tasksPerSecond >= 1.5 * sat.bull.tasksPerSecond),
    },
    {
      target: 'lane throughput ≥ 40% of raw streams (saturation)',
      measured: `${((100 * sat.lane.tasksPerSecond) / sat.raw.tasksPerSecond).toFixed(0)}%`,
      result: check(sat.lane.tasksPerSecond >= 0.4 * sat.raw.tasksPerSecond),
    },
    {
      target: `lane p95 < 5 ms at ${PACED_RATE} tasks/s offered`,
      measured: `${fmtMs(lanePaced.latency!.p95)} ms`,
      result: check(lanePaced.latency!.p95 < 5),
    },
  ];

  const costRows: Row[] = measurements
    .filter((m) => m.cost)
    .map((m) => ({
      system: m.subject,
      'Redis CPU µs/task': m.cost!.redisCpuUs.toFixed(1),
      'bench process CPU µs/task': m.cost!.nodeCpuUs.toFixed(1),
      'Redis commands per task (µs/task)': m
        .cost!.commands.slice(0, 6)
        .map((c) => `${c.command} ×${c.callsPerTask.toFixed(2)} (${c.usPerTask.toFixed(1)})`)
        .join(', '),
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
    `\n${consoleTable(rows, columns)}\n\n${consoleTable(ratioRows)}\n\n${consoleTable(targetRows)}\n\n${consoleTable(costRows)}\n`,
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
    ...(stopTimeouts.length
      ? [
          `**stop() did not return within 30 s for: ${stopTimeouts.join(', ')}** (see the analysis below).`,
          '',
        ]
      : []),
    '#### Cost per task during the saturation runs (Redis INFO cpu/commandstats, process.cpuUsage)',
    '',
    markdownTable(costRows),
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

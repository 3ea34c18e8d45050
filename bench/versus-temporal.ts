/**
 * `npm run bench:express -- --versus-temporal [--runs 3]`: the lane head to head with Temporal's own way of running
 * one unit of work and ordering urgent work (issue #29), on the same dev server (Server 1.29.1, priority matcher on:
 * src/dev/temporal-server.ts) and the same Redis, in one run. Server 1.29.1 has no standalone activities, so Temporal's
 * cheapest unit is a one-activity workflow started eagerly (bench/lib/one-activity-workflow.ts).
 *
 * - **Round trip** at 1, 10 and 50 in flight: `ExpressClient.submitAndWait` (echo, express lane) against
 *   `workflow.execute` of the one-activity workflow with `requestEagerStart` (closed loop).
 * - **Saturation**: the most each drains per second with 50 slots: a lane backlog kept topped up against a backlog of
 *   one-activity workflows (counted by their activity's completions: the workflow's last task comes after).
 * - **Priority under flood**: 4 slots on each side, kept busy by a flood of standard work (lane: standard lane;
 *   Temporal: `priorityKey` 5), while one urgent unit arrives every 100 ms (lane: express lane, whose reserve keeps one
 *   of the 4 slots; Temporal: `priorityKey` 1, not eager, so it queues like the flood). The flood is I/O-bound (each
 *   task awaits a 20 ms timer, standing in for a remote call) or CPU-bound (each hashes for ~5 ms on the event loop,
 *   the same code on both sides). The urgent unit's round trip is its wait plus a no-op run.
 *
 * With `--runs N` the whole set runs N times and the table gives each figure's median, with every run's value.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { z } from 'zod';
import { startTemporalDevServer } from '../src/dev/temporal-server';
import { ExpressClient, ExpressWorker, defineTaskType } from '../src/lane';
import { echoTaskType } from '../src/lane/builtin-task-types';
import { createLogger } from '../src/logger';
import type { UnitActivities } from './lib/one-activity-workflow';
import { closedLoop, saturation } from './lib/load';
import { describeMachine } from './lib/machine';
import { status } from './lib/progress';
import { benchPrefix, deleteMatching, redisUrlFromEnv } from './lib/redis-keys';
import { commandLine, writeReport } from './lib/results';
import { fmtMs, fmtRate, summarize } from './lib/stats';
import { consoleTable, markdownTable, type Row } from './lib/table';

const PAYLOAD = { message: 'benchmark' };
const FLOOD_SLOTS = 4;
const FLOOD_BACKLOG = 200;
const URGENT_EVERY_MS = 100;
const IO_WAIT_MS = 20;

/** Hash rounds that take about 5 ms here (calibrated once per run, used by both sides). */
function calibrateCpuRounds(): number {
  let rounds = 200;
  for (;;) {
    const t0 = performance.now();
    burn(rounds);
    const ms = performance.now() - t0;
    if (ms >= 2) return Math.max(1, Math.round((rounds * 5) / ms));
    rounds *= 2;
  }
}
function burn(rounds: number): number {
  let h = Buffer.from('sagalane');
  for (let i = 0; i < rounds; i++) h = createHash('sha256').update(h).digest();
  return h[0]!;
}

/** One figure of one measurement, per run. */
type Figures = Record<string, { lane: number; temporal: number; unit: 'ms' | '/s' }>;

export async function runVersusTemporal(scale: number, runs: number): Promise<void> {
  const startedAt = new Date();
  const redisUrl = redisUrlFromEnv();
  const admin = new Redis(redisUrl);
  const machine = await describeMachine(admin);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  status(`starting an in-memory Temporal dev server (load ${machine.loadAtStart.join(' ')})`);
  const server = await startTemporalDevServer({ logLevel: 'error' });
  const native = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection: native });
  const cpuRounds = calibrateCpuRounds();
  const all: Figures[] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      status(`run ${run} of ${runs}`);
      all.push(await oneRun({ redisUrl, admin, native, client, scale, cpuRounds, run }));
    }
  } finally {
    await native.close();
    await server.stop();
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const fmt = (v: number, unit: 'ms' | '/s') => (unit === 'ms' ? fmtMs(v) : fmtRate(v));
  const rows: Row[] = Object.keys(all[0]!).map((name) => {
    const { unit } = all[0]![name]!;
    const lane = median(all.map((f) => f[name]!.lane));
    const temporal = median(all.map((f) => f[name]!.temporal));
    // Ratios read "how many times better the lane is": time ÷ time for latencies, rate ÷ rate for throughput.
    const ratio = unit === 'ms' ? temporal / lane : lane / temporal;
    return {
      measurement: `${name} (${unit === 'ms' ? 'ms' : 'tasks/s'})`,
      lane: fmt(lane, unit),
      Temporal: fmt(temporal, unit),
      'lane advantage (median)': `${ratio.toFixed(2)}×`,
      runs: all.map((f) => `${fmt(f[name]!.lane, unit)} / ${fmt(f[name]!.temporal, unit)}`).join('; '),
    };
  });
  process.stdout.write(`\n${consoleTable(rows)}\n`);
  admin.disconnect();
  if (scale < 1) return status('smoke run (--scale < 1): nothing written');
  const file = writeReport({
    name: 'versus-temporal',
    command: commandLine('bench:express'),
    machine,
    startedAt,
    markdown: [
      `#### The lane against a one-activity Temporal workflow (eager start; priority matcher on), median of ${runs} run(s)`,
      '',
      'Latencies in ms, throughput in tasks/s; "runs" lists lane / Temporal per run. Advantage: Temporal ÷ lane for ' +
        `times, lane ÷ Temporal for rates. Flood: ${FLOOD_SLOTS} slots each, backlog ${FLOOD_BACKLOG}, an urgent ` +
        `unit every ${URGENT_EVERY_MS} ms; I/O flood tasks await ${IO_WAIT_MS} ms, CPU ones hash ${cpuRounds} rounds (~5 ms).`,
      '',
      markdownTable(rows),
    ].join('\n'),
    data: { scale, runs: all, cpuRounds },
  });
  status(`wrote ${file} and the versus-temporal section of docs/BENCHMARKS.md`);
}

interface RunContext {
  redisUrl: string;
  admin: Redis;
  native: NativeConnection;
  client: Client;
  scale: number;
  cpuRounds: number;
  run: number;
}

async function oneRun(c: RunContext): Promise<Figures> {
  const out: Figures = {};
  const prefix = benchPrefix(`versus-temporal-r${c.run}`);
  let activityDone = 0;
  let floodDone = 0;
  const activities: UnitActivities = {
    unit: async (input) => {
      activityDone++;
      return input;
    },
    flood: async ({ kind }) => {
      const v = kind === 'io' ? (await sleep(IO_WAIT_MS), 0) : burn(c.cpuRounds);
      floodDone++;
      return v;
    },
  };
  const floodType = defineTaskType({
    name: 'flood',
    schema: z.object({ kind: z.enum(['io', 'cpu']) }),
    handler: (p) => activities.flood(p),
    defaults: { lane: 'standard', timeoutMs: 60_000 },
  });
  const types = [echoTaskType, floodType];
  const temporalWorker = async (taskQueue: string, slots: number) => {
    const worker = await Worker.create({
      connection: c.native,
      taskQueue,
      workflowsPath: require.resolve('./lib/one-activity-workflow'),
      activities,
      maxConcurrentActivityTaskExecutions: slots,
      shutdownGraceTime: '1s',
    });
    const running = worker.run();
    return { stop: async () => (worker.shutdown(), await running) };
  };
  const laneWorker = async (keyPrefix: string, slots: number, reserve: number) => {
    const worker = new ExpressWorker({
      types,
      redisUrl: c.redisUrl,
      keyPrefix,
      concurrency: { min: slots, max: slots },
      autoscaleIntervalMs: 0,
      expressReserve: reserve,
      logger: createLogger('error'),
    });
    let done = 0;
    worker.on('task:succeeded', () => done++);
    await worker.start();
    return { worker, completed: () => done, stop: () => worker.stop() };
  };
  const execute = (taskQueue: string, eager: boolean, priorityKey?: number) =>
    c.client.workflow.execute('oneActivity', {
      taskQueue,
      workflowId: `unit-${randomUUID()}`,
      args: [PAYLOAD],
      requestEagerStart: eager,
      ...(priorityKey ? { priority: { priorityKey } } : {}),
    });

  // ---- Round trip at 1, 10, 50 in flight ----
  {
    const keyPrefix = `${prefix}:rt`;
    const lane = await laneWorker(keyPrefix, 50, 0);
    const express = new ExpressClient({ types, redisUrl: c.redisUrl, keyPrefix });
    const queue = `versus-rt-${randomUUID().slice(0, 8)}`;
    const temporal = await temporalWorker(queue, 100);
    try {
      for (let i = 0; i < 20; i++) {
        await express.submitAndWait({ type: 'echo', payload: PAYLOAD });
        await execute(queue, true);
      }
      for (const inFlight of [1, 10, 50]) {
        const opts = { concurrency: inFlight, durationMs: 5000 * c.scale, warmupMs: 500 };
        const l = await closedLoop({ ...opts, label: `lane round trip c=${inFlight}` }, async () => {
          const info = await express.submitAndWait({ type: 'echo', payload: PAYLOAD });
          if (info.status !== 'succeeded') throw new Error(`lane task ${info.status}`);
        });
        const t = await closedLoop({ ...opts, label: `Temporal round trip c=${inFlight}` }, async () => {
          await execute(queue, true);
        });
        out[`round trip p50, ${inFlight} in flight`] = {
          lane: l.latency!.p50,
          temporal: t.latency!.p50,
          unit: 'ms',
        };
        out[`round trip p99, ${inFlight} in flight`] = {
          lane: l.latency!.p99,
          temporal: t.latency!.p99,
          unit: 'ms',
        };
        out[`completions/s, ${inFlight} in flight`] = {
          lane: l.tasksPerSecond,
          temporal: t.tasksPerSecond,
          unit: '/s',
        };
      }
    } finally {
      await express.close();
      await lane.stop();
      await temporal.stop();
      await deleteMatching(c.admin, `${keyPrefix}*`);
    }
  }

  // ---- Saturation ----
  {
    const keyPrefix = `${prefix}:sat`;
    const lane = await laneWorker(keyPrefix, 50, 0);
    const express = new ExpressClient({ types, redisUrl: c.redisUrl, keyPrefix });
    const queue = `versus-sat-${randomUUID().slice(0, 8)}`;
    const temporal = await temporalWorker(queue, 50);
    try {
      const l = await saturation(
        { label: 'lane saturation', durationMs: 5000 * c.scale },
        async (n) =>
          void (await express.submitMany(
            Array.from({ length: n }, () => ({ type: 'echo', payload: PAYLOAD })),
          )),
        lane.completed,
      );
      const base = activityDone;
      const t = await saturation(
        { label: 'Temporal saturation', durationMs: 5000 * c.scale, batch: 100, maxBacklog: 1000 },
        async (n) => {
          await Promise.all(
            Array.from({ length: n }, () =>
              c.client.workflow.start('oneActivity', {
                taskQueue: queue,
                workflowId: `sat-${randomUUID()}`,
                args: [PAYLOAD],
              }),
            ),
          );
        },
        () => activityDone - base,
      );
      out['saturation, 50 slots'] = { lane: l.tasksPerSecond, temporal: t.tasksPerSecond, unit: '/s' };
    } finally {
      await express.close();
      await lane.stop();
      await temporal.stop();
      await deleteMatching(c.admin, `${keyPrefix}*`);
    }
  }

  // ---- Priority under flood ----
  for (const kind of ['io', 'cpu'] as const) {
    const keyPrefix = `${prefix}:flood-${kind}`;
    // One of the 4 slots reserved for the express lane: the lane's way of keeping urgent work moving.
    const lane = await laneWorker(keyPrefix, FLOOD_SLOTS, 1);
    const express = new ExpressClient({ types, redisUrl: c.redisUrl, keyPrefix });
    const queue = `versus-flood-${kind}-${randomUUID().slice(0, 8)}`;
    const temporal = await temporalWorker(queue, FLOOD_SLOTS);
    try {
      const urgent = async (label: string, once: () => Promise<void>, topUp: () => Promise<void>) => {
        const latencies: number[] = [];
        const end = performance.now() + 8000 * c.scale;
        let flooding = true;
        const flooder = (async () => {
          while (flooding) {
            await topUp();
            await sleep(20);
          }
        })();
        await sleep(1000); // the flood fills every slot first
        const pending: Promise<void>[] = [];
        while (performance.now() < end) {
          pending.push(
            (async () => {
              const t0 = performance.now();
              await once();
              latencies.push(performance.now() - t0);
            })(),
          );
          await sleep(URGENT_EVERY_MS);
        }
        await Promise.all(pending);
        flooding = false;
        await flooder;
        status(`${label}: ${latencies.length} urgent units`);
        return summarize(latencies);
      };
      let laneSubmitted = 0;
      const laneFloodBase = floodDone;
      const l = await urgent(
        `lane, ${kind} flood`,
        async () => {
          const info = await express.submitAndWait({ type: 'echo', lane: 'express', payload: PAYLOAD });
          if (info.status !== 'succeeded') throw new Error(`urgent lane task ${info.status}`);
        },
        async () => {
          const missing = FLOOD_BACKLOG - (laneSubmitted - (floodDone - laneFloodBase));
          if (missing <= 0) return;
          await express.submitMany(
            Array.from({ length: missing }, () => ({ type: 'flood', payload: { kind } })),
          );
          laneSubmitted += missing;
        },
      );
      await lane.stop();
      let started = 0;
      const floodBase = floodDone;
      const t = await urgent(
        `Temporal, ${kind} flood`,
        async () => void (await execute(queue, false, 1)),
        async () => {
          const missing = FLOOD_BACKLOG - (started - (floodDone - floodBase));
          if (missing <= 0) return;
          started += missing;
          await Promise.all(
            Array.from({ length: missing }, () =>
              c.client.workflow.start('oneFloodActivity', {
                taskQueue: queue,
                workflowId: `flood-${randomUUID()}`,
                args: [{ kind }],
                priority: { priorityKey: 5 },
              }),
            ),
          );
        },
      );
      const label = kind === 'io' ? 'I/O' : 'CPU';
      out[`urgent wait p50, ${label} flood`] = { lane: l.p50, temporal: t.p50, unit: 'ms' };
      out[`urgent wait p99, ${label} flood`] = { lane: l.p99, temporal: t.p99, unit: 'ms' };
      out[`urgent wait max, ${label} flood`] = { lane: l.max, temporal: t.max, unit: 'ms' };
    } finally {
      await express.close();
      await lane.stop().catch(() => undefined);
      await temporal.stop();
      await deleteMatching(c.admin, `${keyPrefix}*`);
    }
  }
  return out;
}

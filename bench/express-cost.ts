/**
 * What one express-lane task costs each side, part by part, against raw Redis Streams doing the same steps:
 *
 * - submit: N tasks enqueued in batches of 500 (the saturation phase's producer), no consumer running;
 * - drain: the same N tasks consumed by a worker with fixed concurrency 50 (the saturation phase's consumer).
 *
 * Each part is measured alone, so the Node CPU per task (process.cpuUsage) and the Redis time per task (INFO
 * commandstats) belong to that part only; the saturation phase of bench:express runs both at once. Quick (a few
 * seconds), so it can be run often while changing the lane and under a CPU profiler:
 *
 *   npx tsx bench/express-cost.ts [--tasks 30000] [--only lane|raw] [--profile /tmp/prof [--heap]]
 *   npx tsx bench/lib/cpu-profile-summary.ts /tmp/prof/lane-drain.cpuprofile
 *
 * `--profile <dir>` writes one CPU profile per part (`lane-drain.cpuprofile`, …) taken over that part only; with
 * `--heap` also an allocation profile (`lane-drain.heapprofile`). Profiling inflates the Node µs of that run.
 *
 * Prints a table on stdout; writes nothing.
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import Redis from 'ioredis';
import { ExpressClient, ExpressWorker } from '../src/lane';
import { echoTaskType } from '../src/lane/builtin-task-types';
import { createLogger } from '../src/logger';
import { benchPrefix, deleteMatching, redisUrlFromEnv } from './lib/redis-keys';
import { profileLoad, type CostPerTask } from './lib/redis-profile';
import { consoleTable, type Row } from './lib/table';

const BATCH = 500;
const CONCURRENCY = 50;
const PAYLOAD = { message: 'benchmark' };

function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`${name} takes a positive integer`);
  return v;
}

/** Profiles `run` into `<dir>/<name>.cpuprofile` when `--profile <dir>` is given. */
async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  const i = process.argv.indexOf('--profile');
  if (i < 0) return run();
  const dir = process.argv[i + 1]!;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  // With --heap, allocation sampling too (every sampled allocation, collected or not): what feeds the garbage
  // collector. It slows the run down much more than CPU sampling does.
  const heap = process.argv.includes('--heap');
  if (heap)
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    fs.mkdirSync(dir, { recursive: true });
    if (heap) {
      const allocations = await session.post('HeapProfiler.stopSampling');
      fs.writeFileSync(path.join(dir, `${name}.heapprofile`), JSON.stringify(allocations.profile));
    }
    fs.writeFileSync(path.join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

function waitFor(done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (done()) {
        clearInterval(t);
        resolve();
      }
    }, 1);
  });
}

async function laneParts(admin: Redis, url: string, prefix: string, n: number) {
  const types = [echoTaskType];
  const client = new ExpressClient({ types, redisUrl: url, keyPrefix: prefix });
  const requests = Array.from({ length: BATCH }, () => ({ type: 'echo', payload: PAYLOAD }));
  await client.submitMany(requests.slice(0, 1)); // connects and loads the script
  const submit = await profileLoad(
    admin,
    () =>
      profiled('lane-submit', async () => {
        for (let i = 0; i < n; i += BATCH) await client.submitMany(requests);
        return n;
      }),
    (x) => x,
  );
  let done = 0;
  const worker = new ExpressWorker({
    types,
    redisUrl: url,
    keyPrefix: prefix,
    concurrency: { min: CONCURRENCY, max: CONCURRENCY },
    autoscaleIntervalMs: 0,
    expressReserve: 0,
    logger: createLogger('error'),
  });
  worker.on('task:succeeded', () => done++);
  const drain = await profileLoad(
    admin,
    () =>
      profiled('lane-drain', async () => {
        await worker.start();
        await waitFor(() => done >= n + 1);
        return n + 1;
      }),
    (x) => x,
  );
  await worker.stop();
  await client.close();
  return { submit: submit.cost, drain: drain.cost };
}

async function rawParts(admin: Redis, url: string, prefix: string, n: number) {
  const producer = new Redis(url, { enableAutoPipelining: true });
  const reader = new Redis(url);
  const acker = new Redis(url, { enableAutoPipelining: true });
  const stream = `${prefix}:raw`;
  await producer.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
  const payload = JSON.stringify(PAYLOAD);
  const submit = await profileLoad(
    admin,
    async () => {
      for (let i = 0; i < n; i += BATCH) {
        const p = producer.pipeline();
        for (let j = 0; j < BATCH; j++) p.xadd(stream, '*', 'k', '-', 'payload', payload);
        await p.exec();
      }
      return n;
    },
    (x) => x,
  );
  let done = 0;
  const drain = await profileLoad(
    admin,
    async () => {
      while (done < n) {
        const reply = (await reader.xreadgroup(
          'GROUP',
          'g',
          'c',
          'COUNT',
          CONCURRENCY,
          'BLOCK',
          100,
          'STREAMS',
          stream,
          '>',
        )) as [string, [string, string[]][]][] | null;
        if (!reply) continue;
        const ids = reply[0]![1].map(([id]) => id);
        void acker.xack(stream, 'g', ...ids).then(() => (done += ids.length));
      }
      await waitFor(() => done >= n);
      return n;
    },
    (x) => x,
  );
  for (const r of [producer, reader, acker]) r.disconnect();
  return { submit: submit.cost, drain: drain.cost };
}

function row(system: string, part: string, c: CostPerTask): Row {
  return {
    system,
    part,
    'Node µs/task': c.nodeCpuUs.toFixed(1),
    'Redis µs/task': c.redisCpuUs.toFixed(1),
    'tasks/s': c.tasksPerSecond.toFixed(0),
    'event loop busy': c.eventLoopBusy.toFixed(2),
    'commands per task (µs/task)': c.commands
      .slice(0, 7)
      .map((x) => `${x.command} ×${x.callsPerTask.toFixed(2)} (${x.usPerTask.toFixed(2)})`)
      .join(', '),
  };
}

async function main(): Promise<void> {
  const n = numberArg('--tasks', 30_000);
  const i = process.argv.indexOf('--only');
  const only = i < 0 ? ['lane', 'raw'] : (process.argv[i + 1] ?? '').split(',');
  const url = redisUrlFromEnv();
  const admin = new Redis(url);
  const prefix = benchPrefix('express-cost');
  const rows: Row[] = [];
  try {
    if (only.includes('raw')) {
      const raw = await rawParts(admin, url, `${prefix}:raw`, n);
      rows.push(row('raw Redis Streams', 'submit', raw.submit), row('raw Redis Streams', 'drain', raw.drain));
    }
    if (only.includes('lane')) {
      const lane = await laneParts(admin, url, `${prefix}:lane`, n);
      rows.push(
        row('sagalane lane (echo)', 'submit', lane.submit),
        row('sagalane lane (echo)', 'drain', lane.drain),
      );
    }
  } finally {
    await deleteMatching(admin, `${prefix}*`);
    admin.disconnect();
  }
  const { loadavg } = await import('node:os');
  process.stdout.write(
    `${n} tasks; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}\n\n`,
  );
  process.stdout.write(`${consoleTable(rows)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`express-cost failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

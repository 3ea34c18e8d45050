/**
 * `npx tsx bench/board-cost.ts`: what the lane board costs the lane, counted rather than timed. Throughput benchmarks
 * on this 2-core box swing ±15 % round to round (bench/board.ts), far more than the 2 % budget of #28; counts of
 * what the board makes Redis and its own event loop do are the same from run to run, and so is the lane's work per
 * task. Everything runs on a private redis-server started here (INFO commandstats then counts only this bench),
 * with one express worker of the built-in types (default options, as `sagalane dev` runs it) and the board mounted
 * on the metrics endpoint:
 *
 *   1. nobody watching: the board's connection must send nothing;
 *   2. one page live: an SSE client on `/board/events?type=echo` (what an open page holds; one board read per tick is
 *      shared by every page), the board's commands per second by name, and Redis' microseconds for them (the worker
 *      stopped, so commandstats holds the board's alone); then what one refresh costs this process (CPU and
 *      event-loop time), the tick's reads and rendering run back to back 200 times;
 *   3. the lane at saturation (no page): `echo` tasks submitted in batches and run; Redis commands and microseconds
 *      per task, tasks per second.
 *
 * The share of Redis the board takes at saturation is then its Redis µs per second over the lane's (µs per task ×
 * tasks per second) plus its own. Options: `--seconds <n>` per watched phase (default 10), `--tasks <n>` at
 * saturation (default 20000), `--dry` prints and writes nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { BoardData } from '../src/board/board-data';
import { deadSection, lanesSection, workersSection, type DeadView } from '../src/board/board-html';
import { createBoard } from '../src/board/board-server';
import { builtinTaskTypes, ExpressClient, ExpressWorker, LANES, openLaneConnection } from '../src/lane';
import { createLogger } from '../src/logger';
import { createMetrics, instrumentExpressWorker, startObservabilityServer } from '../src/observability';
import { describeMachine } from './lib/machine';
import { status } from './lib/progress';
import { writeReport } from './lib/results';
import { markdownTable, consoleTable, type Row } from './lib/table';

function intArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`${name} must be a positive integer (got ${process.argv[i + 1]})`);
  return v;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A redis-server of this bench's own: nobody else's commands in its commandstats. */
async function privateRedis(): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const until = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (Date.now() > until) throw new Error('redis-server did not start (is it installed?)');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, stop: () => child.kill('SIGTERM') };
}

type Stats = Map<string, { calls: number; usec: number }>;
async function commandstats(redis: Redis): Promise<Stats> {
  const text = await redis.info('commandstats');
  const out: Stats = new Map();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm))
    out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  return out;
}
/** after − before, without the bench's own INFO calls. */
function delta(before: Stats, after: Stats): { command: string; calls: number; usec: number }[] {
  return [...after.entries()]
    .filter(([c]) => c !== 'info')
    .map(([command, a]) => {
      const b = before.get(command) ?? { calls: 0, usec: 0 };
      return { command, calls: a.calls - b.calls, usec: a.usec - b.usec };
    })
    .filter((d) => d.calls > 0)
    .sort((x, y) => y.usec - x.usec);
}
const sum = (list: { calls: number; usec: number }[]) =>
  list.reduce((n, d) => ({ calls: n.calls + d.calls, usec: n.usec + d.usec }), { calls: 0, usec: 0 });

/** An open page's live stream: counts the refreshes it receives. */
function openLiveStream(port: number): Promise<{ refreshes: () => number; close(): void }> {
  return new Promise((resolve, reject) => {
    let refreshes = 0;
    const req = http.get(
      { host: '127.0.0.1', port, path: '/board/events?type=echo', headers: { accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`live stream answered ${res.statusCode}`));
        res.on('data', (chunk: Buffer) => {
          // The board writes each refresh in one piece: `data: {…}\n\n`.
          refreshes += (chunk.toString().match(/^data: /gm) ?? []).length;
        });
        resolve({ refreshes: () => refreshes, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const seconds = intArg('--seconds', 10);
  const taskCount = intArg('--tasks', 20_000);
  const dry = process.argv.includes('--dry');
  const startedAt = new Date();
  const redisServer = await privateRedis();
  const url = redisServer.url;
  const admin = new Redis(url);
  const machine = await describeMachine(admin);
  const prefix = 'boardcost';
  const types = builtinTaskTypes;
  const metrics = createMetrics();
  // The board on a connection of its own, as the runtime gives it; every command it sends is counted by name.
  const boardRedis = openLaneConnection(url, 'client');
  boardRedis.on('error', () => undefined);
  const sentByBoard = new Map<string, number>();
  const originalSend = boardRedis.sendCommand.bind(boardRedis) as (...a: unknown[]) => unknown;
  Object.assign(boardRedis, {
    sendCommand: (cmd: { name: string }, ...rest: unknown[]) => {
      sentByBoard.set(cmd.name, (sentByBoard.get(cmd.name) ?? 0) + 1);
      return originalSend(cmd, ...rest);
    },
  });
  const boardSent = () => [...sentByBoard.values()].reduce((a, b) => a + b, 0);
  const boardExpress = new ExpressClient({ types, connection: boardRedis, keyPrefix: prefix });
  const pageData = new BoardData({ express: boardExpress, redis: boardRedis, types, metrics });
  const board = createBoard({
    data: pageData,
    express: boardExpress,
    temporalUi: 'http://127.0.0.1:8233/namespaces/default',
  });
  const server = await startObservabilityServer({
    port: 0,
    registry: metrics.registry,
    mounts: [{ prefix: '/board', handle: board.handle }],
  });
  const startWorker = async () => {
    const worker = new ExpressWorker({
      types,
      redisUrl: url,
      keyPrefix: prefix,
      logger: createLogger('error'),
    });
    const detach = instrumentExpressWorker(worker, metrics);
    await worker.start();
    return {
      worker,
      async stop() {
        await worker.stop();
        detach();
      },
    };
  };
  const client = new ExpressClient({ types, redisUrl: url, keyPrefix: prefix });

  try {
    // 1. Nobody watching, lane idle with its worker.
    status(`1/3: nobody watching, ${seconds} s`);
    let w = await startWorker();
    await sleep(1000);
    const quietBefore = boardSent();
    await sleep(seconds * 1000);
    const unwatchedPerS = (boardSent() - quietBefore) / seconds;

    // 2. One page live. First with the worker (what the board sends beside a running lane), then without it (so
    // Redis' commandstats and this process's CPU hold the board's work alone; the idle baseline is taken first).
    status(`2/3: one page live, ${seconds} s with the worker, then ${2 * seconds} s without`);
    let live = await openLiveStream(server.port);
    await sleep(1500);
    sentByBoard.clear();
    const r0 = live.refreshes();
    await sleep(seconds * 1000);
    const withWorker = { sent: boardSent(), refreshes: live.refreshes() - r0 };
    const byName = [...sentByBoard.entries()].sort((a, b) => b[1] - a[1]);
    live.close();
    await w.stop();
    await sleep(1500);
    live = await openLiveStream(server.port);
    await sleep(1500);
    const s0 = await commandstats(admin);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const liveMs = performance.now() - t0;
    const boardRedisWork = delta(s0, await commandstats(admin));
    live.close();
    await sleep(500);
    // The board's own work per refresh, on this event loop: what one live tick does (lanes, workers, one type's
    // dead letters, rendered and serialised), run back to back with nothing else in the process.
    const refreshOnce = async () => {
      const lanes = lanesSection(await pageData.overview(), pageData.process());
      const workers = workersSection(await pageData.consumers(), pageData.process());
      const letters: DeadView['letters'] = [];
      for (const lane of LANES)
        for (const l of await boardExpress.deadLetters('echo', lane, { count: 200 }))
          letters.push({ ...l, lane });
      const dead = deadSection(pageData.typeNames(), { type: 'echo', filter: '', letters });
      return JSON.stringify({ lanes, workers, dead }).length;
    };
    for (let i = 0; i < 20; i++) await refreshOnce(); // warm-up
    const loops = 200;
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const w0 = performance.now();
    for (let i = 0; i < loops; i++) await refreshOnce();
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    const boardCpuUsPerRefresh = (cpu.user + cpu.system) / loops;
    const boardLoopMsPerRefresh = elu.active / loops;
    const wallMsPerRefresh = (performance.now() - w0) / loops;
    const boardTotal = sum(boardRedisWork);
    const boardUsecPerS = (boardTotal.usec * 1000) / liveMs;
    const boardCallsPerS = (boardTotal.calls * 1000) / liveMs;

    // 3. The lane at saturation, no page.
    status(`3/3: ${taskCount} echo tasks at saturation`);
    w = await startWorker();
    let done = 0;
    w.worker.on('task:succeeded', () => done++);
    const l0 = await commandstats(admin);
    const tStart = performance.now();
    for (let n = 0; n < taskCount; n += 500) {
      const batch = Math.min(500, taskCount - n);
      await client.submitMany(
        Array.from({ length: batch }, (_, i) => ({
          type: 'echo',
          lane: 'express' as const,
          payload: { message: `m${n + i}` },
        })),
      );
      // Keep a backlog without piling everything up front (the bounded backlog refuses past its limit).
      while (n + batch - done > 5000) await sleep(5);
    }
    while (done < taskCount) await sleep(5);
    const laneMs = performance.now() - tStart;
    const laneWork = delta(l0, await commandstats(admin));
    await w.stop();
    const lane = sum(laneWork);
    const tasksPerS = (taskCount * 1000) / laneMs;
    const laneUsecPerTask = lane.usec / taskCount;
    const laneCallsPerTask = lane.calls / taskCount;
    const shareOfRedis = boardUsecPerS / (laneUsecPerTask * tasksPerS + boardUsecPerS);
    const shareOfCalls = boardCallsPerS / (laneCallsPerTask * tasksPerS + boardCallsPerS);

    const rows: Row[] = [
      {
        figure: 'board → Redis, nobody watching (lane idle, worker running)',
        value: `${unwatchedPerS.toFixed(2)} commands/s`,
      },
      {
        figure: 'board → Redis, one page live (1 s tick), beside a running worker',
        value: `${(withWorker.sent / seconds).toFixed(1)} commands/s (${(withWorker.sent / Math.max(1, withWorker.refreshes)).toFixed(1)} per refresh)`,
      },
      {
        figure: '… by command',
        value: byName
          .map(([c, n]) => `${c} ×${(n / Math.max(1, withWorker.refreshes)).toFixed(1)}`)
          .join(', '),
      },
      {
        figure: 'Redis time for the board, one page live',
        value: `${boardUsecPerS.toFixed(0)} µs/s (${boardCallsPerS.toFixed(1)} calls/s as Redis counts them, scripts' inner calls included)`,
      },
      {
        figure: 'lane at saturation (echo, one worker, submits included)',
        value: `${laneCallsPerTask.toFixed(2)} Redis calls/task, ${laneUsecPerTask.toFixed(1)} Redis µs/task, ${Math.round(tasksPerS)} tasks/s`,
      },
      {
        figure: '… by command',
        value: laneWork
          .slice(0, 6)
          .map(
            (d) =>
              `${d.command} ×${(d.calls / taskCount).toFixed(2)} (${(d.usec / taskCount).toFixed(1)} µs)`,
          )
          .join(', '),
      },
      {
        figure: 'board share of Redis at that saturation, one page live',
        value: `${(shareOfRedis * 100).toFixed(3)} % of Redis time, ${(shareOfCalls * 100).toFixed(3)} % of calls (= the lane work of ${(boardUsecPerS / laneUsecPerTask).toFixed(0)} tasks/s)`,
      },
      {
        figure: 'board process per refresh (event loop shared with the worker)',
        value: `${(boardCpuUsPerRefresh / 1000).toFixed(2)} ms CPU, ${boardLoopMsPerRefresh.toFixed(2)} ms event-loop busy (${wallMsPerRefresh.toFixed(2)} ms wall, Redis round trips included) → ${((boardLoopMsPerRefresh / 1000) * 100).toFixed(2)} % of one event loop at 1 refresh/s`,
      },
    ];
    process.stdout.write(`\n${consoleTable(rows)}\n`);
    if (dry) return;
    const file = writeReport({
      name: 'board-cost',
      command: 'npx tsx bench/board-cost.ts',
      machine,
      startedAt,
      markdown: [
        `Private redis-server; one express worker (built-in types, default options) and the board in one process; ` +
          `${seconds} s per watched phase, ${taskCount} \`echo\` tasks at saturation. Counts, not timings: the ` +
          `commands and Redis µs are the same from run to run; the tasks/s only scales the share.`,
        '',
        markdownTable(rows),
      ].join('\n'),
      data: {
        seconds,
        taskCount,
        unwatchedPerS,
        withWorker,
        byName,
        boardRedisWork,
        boardUsecPerS,
        boardCallsPerS,
        wallMsPerRefresh,
        laneWork,
        tasksPerS,
        laneUsecPerTask,
        laneCallsPerTask,
        shareOfRedis,
        shareOfCalls,
        boardCpuUsPerRefresh,
        boardLoopMsPerRefresh,
      },
    });
    status(`wrote ${file} and docs/BENCHMARKS.md (board-cost section)`);
  } finally {
    board.close();
    await server.close();
    await client.close();
    await boardExpress.close().catch(() => undefined);
    boardRedis.disconnect();
    admin.disconnect();
    redisServer.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

/**
 * `npm run bench:board`: what the lane board costs the express lane, side by side in one run. One process holds an
 * express worker (the autoscaler's default options, as `sagalane dev` runs it) and the metrics endpoint, as
 * `sagalane dev` does; the lane is kept saturated with `echo` tasks (bench/lib/load.ts) in three set-ups, interleaved
 * round by round so drift on the machine hits all three alike:
 *   - `no board`: the metrics endpoint alone;
 *   - `board, nobody watching`: `/board` mounted, no page open;
 *   - `board, one page live`: one chromium page on `/board?type=echo` (lanes, workers, dead letters, sagas section)
 *     taking the live stream at the board's default tick (1 s).
 * Writes bench/results/board-<time>.json and the `board` section of docs/BENCHMARKS.md.
 *
 * Options: `--rounds <n>` (default 5), `--scale <f>` multiplies each measurement's duration (default 8 s), `--dry`
 * prints the table and writes nothing (for trying it out).
 */
import Redis from 'ioredis';
import { BoardData } from '../src/board/board-data';
import { createBoard, type Board } from '../src/board/board-server';
import { builtinTaskTypes, ExpressClient, ExpressWorker, openLaneConnection } from '../src/lane';
import { createLogger } from '../src/logger';
import {
  createMetrics,
  instrumentExpressWorker,
  startObservabilityServer,
  type HttpMount,
} from '../src/observability';
import { launchBrowser } from '../test/board/board-kit';
import { scaleArg } from './lib/args';
import { saturation } from './lib/load';
import { describeMachine } from './lib/machine';
import { status } from './lib/progress';
import { benchPrefix, deleteMatching, redisUrlFromEnv } from './lib/redis-keys';
import { commandLine, writeReport } from './lib/results';
import { fmtRate } from './lib/stats';
import { consoleTable, markdownTable, type Row } from './lib/table';

const SETUPS = ['no board', 'board, nobody watching', 'board, one page live'] as const;
type Setup = (typeof SETUPS)[number];

function intArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`${name} must be a positive integer (got ${process.argv[i + 1]})`);
  return v;
}

/** One saturated measurement of `setup` on a fresh key prefix; tasks per second. */
async function measure(setup: Setup, url: string, prefix: string, durationMs: number): Promise<number> {
  const types = builtinTaskTypes;
  const metrics = createMetrics();
  const client = new ExpressClient({ types, redisUrl: url, keyPrefix: prefix });
  const worker = new ExpressWorker({
    types,
    redisUrl: url,
    keyPrefix: prefix,
    logger: createLogger('error'),
  });
  const detach = instrumentExpressWorker(worker, metrics);
  let done = 0;
  worker.on('task:succeeded', () => done++);
  await worker.start();

  let board: Board | undefined;
  let boardRedis: ReturnType<typeof openLaneConnection> | undefined;
  const mounts: HttpMount[] = [];
  if (setup !== 'no board') {
    boardRedis = openLaneConnection(url, 'client');
    boardRedis.on('error', () => undefined);
    const express = new ExpressClient({ types, connection: boardRedis, keyPrefix: prefix });
    board = createBoard({
      data: new BoardData({ express, redis: boardRedis, types, metrics }),
      express,
      temporalUi: 'http://127.0.0.1:8233/namespaces/default',
    });
    mounts.push({ prefix: '/board', handle: board.handle });
  }
  const server = await startObservabilityServer({ port: 0, registry: metrics.registry, mounts });
  const browser = setup === 'board, one page live' ? await launchBrowser() : undefined;
  try {
    if (browser) {
      const page = await browser.context.newPage();
      await page.goto(`${server.url}/board?type=echo`);
      // Measure only once the live stream has delivered an update.
      await page.waitForFunction('document.body.hasAttribute("data-updated")', undefined, {
        timeout: 15_000,
      });
    }
    let n = 0;
    const result = await saturation(
      { label: setup, durationMs, warmupMs: Math.min(2000, durationMs / 4) },
      async (count) => {
        await client.submitMany(
          Array.from({ length: count }, () => ({
            type: 'echo',
            lane: 'express' as const,
            payload: { message: `m${n++}` },
          })),
        );
      },
      () => done,
    );
    return result.tasksPerSecond;
  } finally {
    await browser?.close();
    board?.close();
    await server.close();
    await worker.stop();
    detach();
    await client.close();
    boardRedis?.disconnect();
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  const url = redisUrlFromEnv();
  const rounds = intArg('--rounds', 5);
  const durationMs = Math.round(8000 * scaleArg());
  const dry = process.argv.includes('--dry');
  const redis = new Redis(url);
  const prefix = benchPrefix('board');
  const startedAt = new Date();
  const machine = await describeMachine(redis);
  const figures: Record<Setup, number[]> = {
    'no board': [],
    'board, nobody watching': [],
    'board, one page live': [],
  };
  try {
    status('warm-up (not counted)');
    await measure('no board', url, `${prefix}:warm-up`, Math.max(1000, durationMs / 2));
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so no set-up always runs first (warm caches) or last.
      const order = SETUPS.map((_, i) => SETUPS[(i + r) % SETUPS.length]!);
      for (const setup of order) {
        status(`round ${r + 1}/${rounds}: ${setup}`);
        figures[setup].push(
          await measure(setup, url, `${prefix}:r${r}:${SETUPS.indexOf(setup)}`, durationMs),
        );
      }
    }
  } finally {
    await deleteMatching(redis, `${prefix}:*`);
    redis.disconnect();
  }
  const base = median(figures['no board']);
  const rows: Row[] = SETUPS.map((setup) => ({
    'set-up': setup,
    'tasks/s (median)': fmtRate(median(figures[setup])),
    'vs no board': setup === 'no board' ? '–' : `${((median(figures[setup]) / base - 1) * 100).toFixed(1)} %`,
    rounds: figures[setup].map((v) => fmtRate(v)).join(', '),
  }));
  process.stdout.write(`\n${consoleTable(rows)}\n`);
  if (dry) {
    status('--dry: nothing written');
    return;
  }
  const file = writeReport({
    name: 'board',
    command: commandLine('bench:board'),
    machine,
    startedAt,
    markdown: [
      `Express lane saturated with \`echo\` tasks (one worker, default autoscaler, in the process that serves the ` +
        `board), ${rounds} interleaved rounds of ${durationMs / 1000} s per set-up. The board's budget (#28): no ` +
        `cost with nobody watching, at most 2 % with one page live.`,
      '',
      markdownTable(rows),
    ].join('\n'),
    data: { rounds, durationMs, figures },
  });
  status(`wrote ${file} and docs/BENCHMARKS.md (board section)`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

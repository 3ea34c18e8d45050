/**
 * Plumbing of the lane board's browser tests: Debian's chromium driven by playwright-core (a fresh profile per
 * launch), and a board mounted on a real observability server against the real Redis, with test task types whose
 * handler fails while a Redis flag is set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { z } from 'zod';
import { BoardData } from '../../src/board/board-data';
import { createBoard, type Board, type BoardOptions } from '../../src/board/board-server';
import {
  defineTaskType,
  ExpressClient,
  ExpressWorker,
  openLaneConnection,
  type RedisClient,
  type TaskType,
} from '../../src/lane';
import { createLogger } from '../../src/logger';
import {
  createMetrics,
  instrumentExpressWorker,
  startObservabilityServer,
  type ObservabilityServer,
  type SagalaneMetrics,
} from '../../src/observability';
import { redisUrl } from '../helpers/redis';

export const CHROMIUM = process.env.SAGALANE_CHROMIUM ?? '/usr/bin/chromium';

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless chromium with a profile of its own, nothing fetched from the network behind the tests' back. */
export async function launchBrowser(
  options: { extraHTTPHeaders?: Record<string, string> } = {},
): Promise<Browser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'sagalane-board-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1600, height: 1000 },
    extraHTTPHeaders: options.extraHTTPHeaders,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** `board.work` (express) and `board.bulk` (standard): succeed, unless the stack's fail flag is set. */
export function boardTaskTypes(redis: RedisClient, failFlag: string): TaskType[] {
  const schema = z.object({ n: z.number().optional(), note: z.string().optional() });
  const handler = async (p: z.output<typeof schema>) => {
    if (await redis.get(failFlag)) throw new Error(`board test: told to fail (${failFlag})`);
    return { ok: true, n: p.n ?? null };
  };
  return [
    defineTaskType({ name: 'board.work', schema, defaults: { lane: 'express', maxAttempts: 1 }, handler }),
    defineTaskType({ name: 'board.bulk', schema, defaults: { lane: 'standard', maxAttempts: 1 }, handler }),
  ] as TaskType[];
}

export interface BoardStack {
  url: string;
  board: Board;
  express: ExpressClient;
  redis: RedisClient;
  metrics: SagalaneMetrics;
  types: TaskType[];
  failFlag: string;
  /** Starts an express worker of the test types in this process, counted in the stack's metrics. */
  startWorker(): Promise<ExpressWorker>;
  close(): Promise<void>;
}

export async function startBoardStack(
  prefix: string,
  options: Partial<Omit<BoardOptions, 'data' | 'express'>> & { host?: string; deadAfterMs?: number } = {},
): Promise<BoardStack> {
  const redis = openLaneConnection(redisUrl(), 'client');
  redis.on('error', () => undefined);
  await redis.connect();
  const failFlag = `${prefix}:board-test:fail`;
  const types = boardTaskTypes(redis, failFlag);
  const express = new ExpressClient({ types, connection: redis, keyPrefix: prefix });
  const metrics = createMetrics();
  const board = createBoard({
    data: new BoardData({ express, redis, types, metrics, deadAfterMs: options.deadAfterMs }),
    express,
    temporalUi: 'http://127.0.0.1:8233/namespaces/default',
    tickMs: 300,
    ...options,
  });
  const server: ObservabilityServer = await startObservabilityServer({
    host: options.host ?? '127.0.0.1',
    port: 0,
    registry: metrics.registry,
    mounts: [{ prefix: '/board', handle: (req, res) => board.handle(req, res) }],
  });
  const workers: ExpressWorker[] = [];
  const detach: (() => void)[] = [];
  return {
    url: `http://127.0.0.1:${server.port}`,
    board,
    express,
    redis,
    metrics,
    types,
    failFlag,
    async startWorker() {
      const w = new ExpressWorker({
        types,
        redisUrl: redisUrl(),
        keyPrefix: prefix,
        logger: createLogger('error'),
        concurrency: { min: 2, max: 4 },
      });
      detach.push(instrumentExpressWorker(w, metrics));
      workers.push(w);
      await w.start();
      return w;
    },
    async close() {
      board.close();
      await server.close();
      for (const w of workers) await w.stop();
      for (const d of detach) d();
      await express.close();
      redis.disconnect();
    },
  };
}

/** Shared plumbing of the lane tests: bookkeeping checks, worker processes, a private redis-server. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type Redis from 'ioredis';
import type { ExpressClient, TaskInfo } from '../../src/lane';

/**
 * The invariant every scenario ends with: every accepted task is succeeded or dead, and nothing is left in a
 * stream, pending, or waiting for a retry.
 */
export async function expectBookkeeping(
  client: ExpressClient,
  taskIds: string[],
  types: string[],
): Promise<{ succeeded: TaskInfo[]; dead: TaskInfo[] }> {
  const infos = await Promise.all(taskIds.map((id) => client.get(id)));
  const succeeded = infos.filter((i): i is TaskInfo => i?.status === 'succeeded');
  const dead = infos.filter((i): i is TaskInfo => i?.status === 'dead');
  expect({ accepted: taskIds.length, finished: succeeded.length + dead.length }).toEqual({
    accepted: taskIds.length,
    finished: taskIds.length,
  });
  const stats = await client.stats(types);
  for (const row of stats) {
    expect({
      type: row.type,
      lane: row.lane,
      length: row.length,
      pending: row.pending,
      delayed: row.delayed,
    }).toEqual({
      type: row.type,
      lane: row.lane,
      length: 0,
      pending: 0,
      delayed: 0,
    });
  }
  return { succeeded, dead };
}

export { freePort } from '../helpers/ports';
export { PrivateRedis } from '../helpers/private-redis';

export async function runCounts(redis: Redis, prefix: string): Promise<Map<string, number>> {
  const h = await redis.hgetall(`${prefix}:test:runs`);
  return new Map(Object.entries(h).map(([k, v]) => [k, Number(v)]));
}

export interface WorkerProcess {
  child: ChildProcess;
  consumer: string;
  exited: Promise<number | null>;
}

const ROOT = path.resolve(__dirname, '../..');
const FIXTURE = path.resolve(__dirname, '../fixtures/lane-worker.ts');

/**
 * Spawns `node --import tsx test/fixtures/lane-worker.ts` and resolves once it prints `ready`. Not the `tsx` CLI:
 * it runs the script in a grandchild, so `kill -9` on the spawned pid would miss the worker.
 */
export async function spawnWorker(
  options: Record<string, unknown> & { consumerName: string },
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, LANE_WORKER: JSON.stringify(options) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
    if (process.env.LANE_DEBUG) process.stderr.write(d);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker ${options.consumerName} not ready in 30 s: ${stderr}`)),
      30_000,
    );
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker ${options.consumerName} exited (${code}) before ready: ${stderr}`));
    });
  });
  return { child, consumer: options.consumerName, exited };
}

export async function stopWorker(
  w: WorkerProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill(signal);
  return w.exited;
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

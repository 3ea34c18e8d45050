/**
 * kill -9 of express workers under load: 10,000 tasks (20 ms each, 2 × 16 slots: the workers stay busy) submitted
 * over ~5 s to a group of worker processes while one of them is SIGKILLed (and replaced) every 2.5 s. Invariant: every accepted task succeeds (zero lost); tasks that
 * ran more than once (their worker died after running them, before the ack landed) are counted and reported.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Redis from 'ioredis';
import { ExpressClient } from '../../src/lane';
import { laneTestTypeSchemas } from '../fixtures/lane-task-types';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { figure, killHard, spawnTs, waitFor, type ChildHandle } from './reliability-kit';

const TASKS = 10_000;
const BATCH = 500;
const KILL_EVERY_MS = 2_500;
/** Each task holds its slot this long, so the workers stay busy while the kills happen. */
const TASK_MS = 20;

describe('express workers killed with SIGKILL under a 10,000-task load', () => {
  let redis: Redis;
  let client: ExpressClient;
  const prefix = uniquePrefix('rel-express-kill');
  const workers: ChildHandle[] = [];
  let spawned = 0;

  const spawnWorker = () =>
    spawnTs(`lane worker ${spawned}`, 'test/fixtures/lane-worker.ts', {
      LANE_WORKER: JSON.stringify({
        redisUrl: redisUrl(),
        keyPrefix: prefix,
        types: ['slow'],
        consumerName: `rel-worker-${spawned++}`,
        concurrency: { min: 16, max: 16 },
        autoscaleIntervalMs: 0,
        // A dead worker's entries are reclaimed after 1 s; repeated deaths must not dead-letter a task.
        minIdleMs: 1_000,
        janitorIntervalMs: 200,
        maxDeliveries: 50,
      }),
    }).then((w) => {
      workers.push(w);
      return w;
    });

  beforeAll(() => {
    redis = redisClient();
    client = new ExpressClient({ types: laneTestTypeSchemas, redisUrl: redisUrl(), keyPrefix: prefix });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => killHard(w)));
    await client.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('loses no task; duplicates are counted', async () => {
    await Promise.all([spawnWorker(), spawnWorker()]);
    const started = Date.now();
    const taskIds: string[] = [];
    let submitting = true;
    const submitter = (async () => {
      for (let i = 0; i < TASKS; i += BATCH) {
        const batch = Array.from({ length: BATCH }, () => ({ type: 'slow', payload: { ms: TASK_MS } }));
        taskIds.push(...(await client.submitMany(batch)).map((r) => r.taskId));
        await sleep(250);
      }
      submitting = false;
    })();

    let kills = 0;
    const busy = async () => {
      const stats = await client.stats(['slow']);
      return stats.some((s) => s.length > 0 || s.pending > 0 || s.delayed > 0);
    };
    // Keep killing while there is work in flight, at least three times.
    while (submitting || kills < 3 || (await busy())) {
      await sleep(KILL_EVERY_MS);
      const alive = workers.filter((w) => w.alive());
      const victim = alive[kills % alive.length]!;
      await killHard(victim);
      kills++;
      await spawnWorker();
      if (Date.now() - started > 150_000) throw new Error('load did not finish within 150 s');
    }
    await submitter;

    const infos = await waitFor(
      'every task to reach a final state',
      async () => {
        const all = await Promise.all(taskIds.map((id) => client.get(id)));
        return all.every((i) => i?.status === 'succeeded' || i?.status === 'dead') ? all : undefined;
      },
      60_000,
      500,
    );
    const runs = await redis.hgetall(`${prefix}:test:runs`);
    const runCounts = taskIds.map((id) => Number(runs[id] ?? 0));
    const duplicates = runCounts.reduce((sum, n) => sum + Math.max(0, n - 1), 0);
    const succeeded = infos.filter((i) => i?.status === 'succeeded').length;
    const seconds = (Date.now() - started) / 1000;
    figure('express kill -9', {
      tasks: taskIds.length,
      succeeded,
      lost: taskIds.length - succeeded,
      duplicates,
      kills,
      seconds: seconds.toFixed(1),
    });

    expect(taskIds).toHaveLength(TASKS);
    expect(new Set(taskIds).size).toBe(TASKS);
    expect(succeeded).toBe(TASKS);
    expect(runCounts.filter((n) => n === 0)).toEqual([]);
    expect(infos.every((i) => (i!.result as { waited?: number }).waited === TASK_MS)).toBe(true);
    // Kills landed on running tasks (so orphan recovery really ran), not on idle workers.
    expect(duplicates).toBeGreaterThan(0);
    const stats = await client.stats(['slow']);
    expect(stats.map((s) => [s.lane, s.length, s.pending, s.delayed, s.deadLetters])).toEqual([
      ['express', 0, 0, 0, 0],
      ['standard', 0, 0, 0, 0],
    ]);
  });
});

/**
 * Redis crashes under load: a redis-server of the test's own with `appendonly yes` / `appendfsync always` is
 * SIGKILLed twice while producers submit express tasks and a worker runs them, and started again on the same port
 * and data. Invariant: every submission Redis accepted (the submit resolved with a task id) ends succeeded with its
 * own result; submissions made while Redis was down are refused with RedisUnavailableError, not silently dropped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ExpressClient, ExpressWorker, RedisUnavailableError, echoTaskType } from '../../src/lane';
import { createLogger } from '../../src/logger';
import { uniquePrefix } from '../helpers/redis';
import {
  DurableRedis,
  figure,
  freePort,
  waitFor,
  withDeadline,
  DeadlineExceededError,
} from './reliability-kit';

const LOAD_MS = 12_000;
const CRASH_AT_MS = [3_000, 7_500];
const DOWN_FOR_MS = 1_000;
const PRODUCERS = 10;

describe('Redis (AOF, fsync always) crashed and restarted under load', () => {
  let redis: DurableRedis;
  let client: ExpressClient;
  let worker: ExpressWorker;
  const keyPrefix = uniquePrefix('rel-redis-restart');

  beforeAll(async () => {
    redis = new DurableRedis(await freePort());
    await redis.start();
    client = new ExpressClient({ types: [echoTaskType], redisUrl: redis.url, keyPrefix });
    worker = new ExpressWorker({
      types: [echoTaskType],
      redisUrl: redis.url,
      keyPrefix,
      concurrency: { min: 16, max: 16 },
      autoscaleIntervalMs: 0,
      minIdleMs: 1_000,
      janitorIntervalMs: 200,
      logger: createLogger('error'),
    });
    await worker.start();
  });
  afterAll(async () => {
    // If the test failed with Redis down, a graceful stop would wait for it forever.
    if (worker) await withDeadline(worker.stop(), 15_000).catch(() => undefined);
    await client?.close();
    await redis?.destroy();
  });

  it('loses no accepted task', async () => {
    const started = Date.now();
    const accepted: { taskId: string; message: string }[] = [];
    const refusals = new Map<string, number>();
    let n = 0;
    const producer = async () => {
      while (Date.now() - started < LOAD_MS) {
        const message = `m${n++}`;
        try {
          // A submit must resolve or reject, never hang through an outage.
          const { taskId } = await withDeadline(
            client.submit({ type: 'echo', payload: { message } }),
            10_000,
          );
          accepted.push({ taskId, message });
        } catch (err) {
          const name = (err as Error).name;
          refusals.set(name, (refusals.get(name) ?? 0) + 1);
          await sleep(20);
        }
        await sleep(5);
      }
    };
    const chaos = (async () => {
      for (const at of CRASH_AT_MS) {
        await sleep(Math.max(0, started + at - Date.now()));
        await redis.crash();
        await sleep(DOWN_FOR_MS);
        await redis.start();
      }
    })();
    await Promise.all([...Array.from({ length: PRODUCERS }, producer), chaos]);

    const infos = await waitFor(
      'every accepted task to finish',
      async () => {
        const all = await Promise.all(accepted.map((a) => client.get(a.taskId)));
        return all.every((i) => i?.status === 'succeeded' || i?.status === 'dead') ? all : undefined;
      },
      90_000,
      500,
    );
    const succeeded = infos.filter((i, k) => {
      const result = i?.result as { message?: string } | undefined;
      return i?.status === 'succeeded' && result?.message === accepted[k]!.message;
    }).length;
    figure('redis crash+restart (AOF always)', {
      accepted: accepted.length,
      succeeded,
      lost: accepted.length - succeeded,
      refused_while_down: [...refusals.values()].reduce((a, b) => a + b, 0),
      crashes: CRASH_AT_MS.length,
      seconds: ((Date.now() - started) / 1000).toFixed(1),
    });

    expect(accepted.length).toBeGreaterThan(1000);
    expect(succeeded).toBe(accepted.length);
    // Refusals happened (Redis really was down) and were all the lane's named "unavailable" error.
    expect([...refusals.keys()]).toEqual([new RedisUnavailableError('x', 'y').name]);
    expect(refusals.get(DeadlineExceededError.name) ?? 0).toBe(0);
    const stats = await client.stats(['echo']);
    expect(stats.map((s) => [s.lane, s.length, s.pending, s.delayed, s.deadLetters])).toEqual([
      ['express', 0, 0, 0, 0],
      ['standard', 0, 0, 0, 0],
    ]);
  });
});

/**
 * The lane's byte and range limits against the real Redis: a result over the type's maxResultBytes ends its task
 * dead (`result-too-large`, not retried) instead of being stored; a handler's error text is cut to MAX_ERROR_BYTES in
 * the record and the dead letter; a timeout no timer can wait is refused at submit and in a type's defaults; and a
 * worker refuses to start on a stream that carries another consumer group (COMPLETE's trim is per group).
 */
import type Redis from 'ioredis';
import { z } from 'zod';
import {
  BacklogBytesFullError,
  defineTaskType,
  ExpressClient,
  ExpressWorker,
  LaneOptionsError,
  type TaskType,
} from '../../src/lane';
import { MAX_ERROR_BYTES } from '../../src/lane/scripts';
import { createLogger } from '../../src/logger';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

const quiet = createLogger('silent');

describe('lane budgets', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  const workers: ExpressWorker[] = [];
  const clients: ExpressClient[] = [];
  let runs = 0;
  let releaseParked!: () => void;
  const parked = new Promise<void>((r) => (releaseParked = r));

  const types: TaskType[] = [
    defineTaskType({
      name: 'bigresult',
      schema: z.object({ bytes: z.number() }),
      handler: async ({ bytes }) => {
        runs++;
        return { blob: 'x'.repeat(bytes) };
      },
      defaults: { maxResultBytes: 10_000, maxAttempts: 3 },
    }),
    defineTaskType({
      name: 'bulky',
      schema: z.object({ pad: z.string() }),
      handler: async () => null,
      defaults: { maxPayloadBytes: 10_000, maxBacklogBytes: 200_000 },
    }),
    defineTaskType({
      name: 'parked',
      schema: z.object({}),
      handler: async () => parked,
      defaults: { timeoutMs: 600_000 },
    }),
    defineTaskType({
      name: 'longerror',
      schema: z.object({}),
      handler: async () => {
        throw Object.assign(new Error('e'.repeat(100_000)), { nonRetryable: true });
      },
    }),
  ];

  function setup(name: string, workerOptions: { recordCheckIntervalMs?: number } = {}) {
    const prefix = uniquePrefix(`lane-budget-${name}`);
    prefixes.push(prefix);
    const client = new ExpressClient({ types, redisUrl: redisUrl(), keyPrefix: prefix });
    clients.push(client);
    const worker = new ExpressWorker({
      types,
      redisUrl: redisUrl(),
      keyPrefix: prefix,
      logger: quiet,
      ...workerOptions,
    });
    workers.push(worker);
    return { prefix, client, worker };
  }

  beforeAll(() => {
    redis = redisClient();
  });
  afterAll(async () => {
    releaseParked();
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(clients.map((c) => c.close()));
    for (const p of prefixes) await deleteKeys(redis, p);
    redis.disconnect();
  });

  it('ends a task whose result is over maxResultBytes dead, once, and stores a result under it', async () => {
    const { client, worker } = setup('result');
    await worker.start();
    const small = await client.submit({ type: 'bigresult', payload: { bytes: 100 } });
    const big = await client.submit({ type: 'bigresult', payload: { bytes: 50_000 } });
    expect((await client.result(small.taskId)).status).toBe('succeeded');
    const dead = await client.result(big.taskId);
    expect({ status: dead.status, attempts: dead.attempts }).toEqual({ status: 'dead', attempts: 1 });
    expect(dead.error).toMatch(/result is 500\d\d bytes, more than the type's maxResultBytes \(10000\)/);
    expect(runs).toBe(2);
    const [letter] = await client.deadLetters('bigresult', 'standard');
    expect(letter?.reason).toBe('result-too-large');
  });

  it("cuts a handler's error text to MAX_ERROR_BYTES in the record and the dead letter", async () => {
    const { client, worker } = setup('error');
    await worker.start();
    const { taskId } = await client.submit({ type: 'longerror', payload: {} });
    const info = await client.result(taskId);
    expect(info.status).toBe('dead');
    expect(Buffer.byteLength(info.error!)).toBe(MAX_ERROR_BYTES);
    const [letter] = await client.deadLetters('longerror', 'standard');
    expect(Buffer.byteLength(letter!.error)).toBe(MAX_ERROR_BYTES);
  });

  it('refuses a timeout no timer can wait, at submit and in the type', async () => {
    const { client } = setup('timeout');
    await expect(
      client.submit({ type: 'bigresult', payload: { bytes: 1 }, timeoutMs: 2 ** 31 }),
    ).rejects.toThrow(/Invalid submit request[\s\S]*timeoutMs/);
    await expect(
      client.submit({ type: 'bigresult', payload: { bytes: 1 }, timeoutMs: 2 ** 31 - 1 }),
    ).resolves.toHaveProperty('taskId');
    expect(() =>
      defineTaskType({
        name: 'forever',
        schema: z.object({}),
        handler: async () => null,
        defaults: { timeoutMs: 30 * 86_400_000 },
      }),
    ).toThrow(LaneOptionsError);
  });

  it('gives a record and its idempotency key an expiry from submit, renewed while the task lives', async () => {
    const { client, worker } = setup('expiry', { recordCheckIntervalMs: 100 });
    const { taskId } = await client.submit({ type: 'parked', payload: {}, idempotencyKey: 'k1' });
    const idemKey = client.keys.idempotency('parked', 'k1');
    const week = 7 * 86_400;
    const ttls = async () => Promise.all([redis.ttl(client.keys.task(taskId)), redis.ttl(idemKey)]);
    for (const ttl of await ttls()) expect(ttl > week - 60 && ttl <= week).toBe(true);
    // The task runs (its handler parks); someone cuts its expiry short; the worker's record check renews it.
    await worker.start();
    await waitFor('the task running', async () => (await client.get(taskId))?.status === 'running');
    await redis.expire(client.keys.task(taskId), 30);
    await redis.expire(idemKey, 30);
    await waitFor('both expiries renewed', async () => (await ttls()).every((t) => t > week - 60));
  });

  it('ends a queued task whose entry was deleted before any worker read it: dead, entry-deleted', async () => {
    const { client, worker } = setup('vanished', { recordCheckIntervalMs: 100 });
    const { taskId } = await client.submit({ type: 'bigresult', payload: { bytes: 1 } });
    const kept = await client.submit({ type: 'bigresult', payload: { bytes: 2 } });
    const entry = await redis.hget(client.keys.task(taskId), 'entry');
    expect(await redis.xdel(client.keys.stream('bigresult', 'standard'), entry!)).toBe(1);
    await worker.start();
    const info = await client.result(taskId, { waitMs: 20_000 });
    expect({ status: info.status, error: info.error }).toEqual({
      status: 'dead',
      error: `stream entry ${entry} was deleted before any worker read it; the payload is lost`,
    });
    expect((await client.result(kept.taskId)).status).toBe('succeeded');
    const letters = await client.deadLetters('bigresult', 'standard');
    expect(letters.map((l) => [l.taskId, l.reason])).toEqual([[taskId, 'entry-deleted']]);
  });

  it('refuses a submit once the lane holds maxBacklogBytes, with the budget and the estimate', async () => {
    const { client } = setup('bytes');
    const pad = 'b'.repeat(9_000);
    let accepted = 0;
    let refusal: unknown;
    while (!refusal && accepted < 100) {
      try {
        await client.submit({ type: 'bulky', payload: { pad } });
        accepted++;
      } catch (err) {
        refusal = err;
      }
    }
    expect(refusal).toBeInstanceOf(BacklogBytesFullError);
    const e = refusal as BacklogBytesFullError;
    expect({ limit: e.limitBytes, over: e.backlogBytes >= 200_000 }).toEqual({ limit: 200_000, over: true });
    expect(e.message).toMatch(
      /holds about \d+ bytes of tasks, at its limit of 200000 \(defaults.maxBacklogBytes\)/,
    );
    // About the budget's worth of 9 kB payloads went in (Redis's estimate is sampled), and nothing after it.
    expect(accepted).toBeGreaterThanOrEqual(18);
    expect(accepted).toBeLessThanOrEqual(23);
    expect(await redis.xlen(client.keys.stream('bulky', 'standard'))).toBe(accepted);
  });

  it('refuses to start on a stream that has another consumer group', async () => {
    const { client, worker } = setup('groups');
    await redis.call(
      'XGROUP',
      'CREATE',
      client.keys.stream('bigresult', 'express'),
      'analytics',
      '0',
      'MKSTREAM',
    );
    await expect(worker.start()).rejects.toThrow(/has consumer group\(s\) analytics besides this worker's/);
  });
});

/**
 * The lane's guarantees added with the worker split, in one process against the real Redis: pooled handlers
 * (hard stop at the timeout, heap limit), non-retryable errors, bounded orphan claims with a cursor, deleted
 * entries ending their task, backlog limits, dead-letter list/retry/purge, idempotency retention, stale consumers.
 */
import path from 'node:path';
import type Redis from 'ioredis';
import { z } from 'zod';
import {
  BacklogFullError,
  defineTaskType,
  ExpressClient,
  ExpressWorker,
  builtinTaskTypes,
  type TaskType,
} from '../../src/lane';
import { createLogger } from '../../src/logger';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { createLaneTestTypes } from '../fixtures/lane-task-types';
import { waitFor } from '../helpers/wait';
import { expectBookkeeping } from './lane-helpers';

const quiet = createLogger('error');
const POOLED = path.resolve(__dirname, '../fixtures/pooled-handlers.ts');
const GROUP = 'sagalane-workers';

function pooledTypes(): TaskType[] {
  const empty = z.object({}).passthrough();
  return [
    defineTaskType({
      name: 'spin',
      schema: empty,
      pooled: { module: POOLED, export: 'spinForever' },
      defaults: { lane: 'standard', timeoutMs: 400, maxAttempts: 2 },
    }),
    defineTaskType({
      name: 'hog',
      schema: empty,
      pooled: { module: POOLED, export: 'exhaustHeap', maxHeapMb: 32 },
      defaults: { lane: 'standard', timeoutMs: 20_000 },
    }),
    defineTaskType({
      name: 'refuse',
      schema: empty,
      pooled: { module: POOLED, export: 'refuseForGood' },
      defaults: { maxAttempts: 5 },
    }),
    defineTaskType({
      name: 'refuseInline',
      schema: empty,
      handler: async () => {
        throw Object.assign(new Error('bad input, never retry'), { nonRetryable: true });
      },
      defaults: { maxAttempts: 5 },
    }),
  ];
}

describe('express lane guarantees (in process)', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  const workers: ExpressWorker[] = [];
  const clients: ExpressClient[] = [];

  function setup(name: string) {
    const prefix = uniquePrefix(`lane-g-${name}`);
    prefixes.push(prefix);
    const types: TaskType[] = [
      ...createLaneTestTypes({ redis, prefix, consumer: 'in-process' }),
      ...builtinTaskTypes,
      ...pooledTypes(),
    ];
    const client = new ExpressClient({ types, redisUrl: redisUrl(), keyPrefix: prefix });
    clients.push(client);
    const worker = (opts: Partial<ConstructorParameters<typeof ExpressWorker>[0]>, names: string[]) => {
      const w = new ExpressWorker({
        types: types.filter((t) => names.includes(t.name)),
        redisUrl: redisUrl(),
        keyPrefix: prefix,
        logger: quiet,
        autoscaleIntervalMs: 0,
        ...opts,
      });
      workers.push(w);
      return w;
    };
    return { prefix, client, worker, keys: client.keys };
  }

  beforeAll(() => {
    redis = redisClient();
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(clients.map((c) => c.close()));
    for (const p of prefixes) await deleteKeys(redis, p);
    redis.disconnect();
  });

  it('terminates a pooled handler past its timeout while express tasks keep flowing, then retries it', async () => {
    const { client, worker } = setup('spin');
    const w = worker({ concurrency: { min: 3, max: 3 } }, ['spin', 'echo']);
    const order: string[] = [];
    w.on('task:started', (e) => order.push(`started ${e.type}`));
    w.on('task:retried', (e) => order.push(`retried ${e.type}`));
    w.on('task:succeeded', (e) => order.push(`succeeded ${e.type}`));
    await w.start();
    // A timeout of its own, longer than the type's 400 ms: the margin the echo below has on a loaded machine.
    const spin = await client.submit({ type: 'spin', payload: {}, timeoutMs: 2500 });
    await waitFor('the spin task to start', () => order.includes('started spin'), 10_000, 10);
    // The spinning thread cannot block the event loop: an express echo finishes while it spins (before its first
    // attempt is given up), in order of events rather than against a clock.
    const echo = await client.submit({ type: 'echo', payload: { message: 'still here' } });
    expect((await client.result(echo.taskId, { waitMs: 15_000 })).status).toBe('succeeded');
    expect(order.slice(0, 3)).toEqual(['started spin', 'started echo', 'succeeded echo']);
    const dead = await client.result(spin.taskId, { waitMs: 30_000 });
    expect(dead).toMatchObject({ status: 'dead', attempts: 2 });
    expect(order).toContain('retried spin');
    expect(dead.error).toMatch(/TaskTimeoutError: Handler did not finish within 2500 ms/);
    const [letter] = await client.deadLetters('spin', 'standard');
    expect(letter).toMatchObject({ taskId: spin.taskId, reason: 'max-attempts' });
    await expectBookkeeping(client, [spin.taskId, echo.taskId], ['spin', 'echo']);
  });

  it('dead-letters a pooled handler that exceeds its heap limit, with the reason, and keeps serving', async () => {
    const { client, worker } = setup('hog');
    const w = worker({ concurrency: { min: 2, max: 2 } }, ['hog', 'hash']);
    await w.start();
    const hog = await client.submit({ type: 'hog', payload: {} });
    const dead = await client.result(hog.taskId, { waitMs: 20_000 });
    expect(dead).toMatchObject({ status: 'dead', attempts: 1 });
    expect(dead.error).toMatch(/memory/i);
    expect((await client.deadLetters('hog', 'standard'))[0]?.reason).toBe('memory-limit');
    const hash = await client.submit({ type: 'hash', payload: { data: 'x', rounds: 3 } });
    expect((await client.result(hash.taskId, { waitMs: 10_000 })).status).toBe('succeeded');
  });

  it('dead-letters an error marked nonRetryable at once, inline or pooled, with no retries', async () => {
    const { client, worker } = setup('non-retryable');
    const w = worker({ concurrency: { min: 2, max: 2 } }, ['refuse', 'refuseInline']);
    await w.start();
    const a = await client.submit({ type: 'refuse', payload: {} });
    const b = await client.submit({ type: 'refuseInline', payload: {} });
    const [da, db] = await Promise.all([a, b].map((t) => client.result(t.taskId, { waitMs: 10_000 })));
    expect(da).toMatchObject({ status: 'dead', attempts: 1, error: 'Error: this input can never succeed' });
    expect(db).toMatchObject({ status: 'dead', attempts: 1, error: 'Error: bad input, never retry' });
    const letters = [
      ...(await client.deadLetters('refuse', 'standard')),
      ...(await client.deadLetters('refuseInline', 'standard')),
    ];
    expect(letters.map((l) => l.reason)).toEqual(['non-retryable', 'non-retryable']);
    await expectBookkeeping(client, [a.taskId, b.taskId], ['refuse', 'refuseInline']);
  });

  it('claims orphans only into free slots and finds them past 1,000 live pending entries (cursor kept)', async () => {
    const { client, worker, keys } = setup('janitor');
    const stream = keys.stream('probe', 'standard');
    await redis.call('XGROUP', 'CREATE', stream, GROUP, '0', 'MKSTREAM');
    // 1,200 entries held by a live consumer (kept fresh below), then 30 orphans of a dead one.
    const live = await client.submitMany(
      Array.from({ length: 1200 }, (_, n) => ({ type: 'probe', lane: 'standard' as const, payload: { n } })),
    );
    await redis.call('XREADGROUP', 'GROUP', GROUP, 'live', 'COUNT', 1200, 'STREAMS', stream, '>');
    const orphans = await client.submitMany(
      Array.from({ length: 30 }, (_, n) => ({ type: 'probe', lane: 'standard' as const, payload: { n } })),
    );
    await redis.call('XREADGROUP', 'GROUP', GROUP, 'dead', 'COUNT', 30, 'STREAMS', stream, '>');
    const liveIds = ((await redis.call('XPENDING', stream, GROUP, '-', '+', 2000, 'live')) as string[][]).map(
      (p) => p[0]!,
    );
    const keepFresh = setInterval(
      () => void redis.call('XCLAIM', stream, GROUP, 'live', 0, ...liveIds, 'JUSTID').catch(() => undefined),
      100,
    );
    try {
      await new Promise((r) => setTimeout(r, 400));
      const w = worker({ concurrency: { min: 4, max: 4 }, minIdleMs: 300, janitorIntervalMs: 50 }, ['probe']);
      let maxHeld = 0;
      const sample = setInterval(async () => {
        const mine = (await redis.call(
          'XPENDING',
          stream,
          GROUP,
          '-',
          '+',
          100,
          w.consumerName,
        )) as unknown[];
        maxHeld = Math.max(maxHeld, mine.length);
      }, 20);
      await w.start();
      const done = await Promise.all(orphans.map((t) => client.result(t.taskId, { waitMs: 20_000 })));
      clearInterval(sample);
      expect(done.every((d) => d.status === 'succeeded')).toBe(true);
      // Claims are bounded by the worker's 4 slots (the old janitor took 100 at once).
      expect(maxHeld).toBeLessThanOrEqual(4);
      // None of the live consumer's entries was taken.
      const stillLive = (await redis.call('XPENDING', stream, GROUP, '-', '+', 2000, 'live')) as unknown[];
      expect(stillLive).toHaveLength(1200);
    } finally {
      clearInterval(keepFresh);
    }
    expect(live).toHaveLength(1200);
  });

  it('ends a task dead with the reason when its pending entry was deleted from the stream', async () => {
    const { client, worker, keys } = setup('deleted');
    const stream = keys.stream('probe', 'standard');
    await redis.call('XGROUP', 'CREATE', stream, GROUP, '0', 'MKSTREAM');
    const t = await client.submit({ type: 'probe', lane: 'standard', payload: { n: 1 } });
    await redis.call('XREADGROUP', 'GROUP', GROUP, 'gone', 'COUNT', 1, 'STREAMS', stream, '>');
    const pending = (await redis.call('XPENDING', stream, GROUP, '-', '+', 1)) as string[][];
    const entryId = pending[0]![0];
    await redis.xdel(stream, entryId!);
    const w = worker({ minIdleMs: 300, janitorIntervalMs: 50 }, ['probe']);
    await w.start();
    const done = await client.result(t.taskId, { waitMs: 10_000 });
    expect(done.status).toBe('dead');
    expect(done.error).toMatch(/deleted while pending/);
    expect((await client.deadLetters('probe', 'standard'))[0]).toMatchObject({
      taskId: t.taskId,
      reason: 'entry-deleted',
    });
    await expectBookkeeping(client, [t.taskId], ['probe']);
  });

  it('refuses a submit over the backlog limit with a named error giving the limit and the backlog', async () => {
    const prefix = uniquePrefix('lane-g-backlog');
    prefixes.push(prefix);
    const small = defineTaskType({
      name: 'small',
      schema: z.object({ n: z.number() }),
      handler: async (p) => p,
      defaults: { maxBacklog: 5 },
    });
    const client = new ExpressClient({ types: [small], redisUrl: redisUrl(), keyPrefix: prefix });
    clients.push(client);
    await client.submitMany(Array.from({ length: 5 }, (_, n) => ({ type: 'small', payload: { n } })));
    const err = await client.submit({ type: 'small', payload: { n: 6 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BacklogFullError);
    expect(err).toMatchObject({ limit: 5, backlog: 5, type: 'small', lane: 'standard' });
    expect((err as Error).message).toMatch(/holds 5 tasks, at its limit of 5/);
    expect((await client.stats(['small']))[1]).toMatchObject({ lane: 'standard', length: 5 });
  });

  it('lists, retries and purges dead letters; dead-letter streams are capped', async () => {
    const { client, worker, keys } = setup('dead-ops');
    const w = worker({ concurrency: { min: 2, max: 2 }, deadLetterMaxLen: 100 }, ['flaky']);
    await w.start();
    const tasks = await client.submitMany(
      Array.from({ length: 3 }, () => ({ type: 'flaky', payload: { failTimes: 1 }, maxAttempts: 1 })),
    );
    await Promise.all(tasks.map((t) => client.result(t.taskId, { waitMs: 10_000 })));
    const letters = await client.deadLetters('flaky', 'standard');
    expect(letters.map((l) => l.taskId).sort()).toEqual(tasks.map((t) => t.taskId).sort());
    expect(letters[0]).toMatchObject({ reason: 'max-attempts', attempts: 1 });
    // Retry one: the same task id runs again from attempt 1 (and fails again: failTimes 1, maxAttempts 1).
    const retried = await client.retryDead('flaky', 'standard', [letters[0]!.id]);
    expect(retried).toEqual({ retried: [letters[0]!.taskId], missing: [] });
    const again = await client.result(letters[0]!.taskId, { waitMs: 10_000 });
    expect(again.status).toBe('dead');
    expect(await client.purgeDead('flaky', 'standard')).toBe(3);
    expect(await client.deadLetters('flaky', 'standard')).toEqual([]);
    // The cap: 400 more dead letters with deadLetterMaxLen 100 (XADD … MAXLEN ~ trims whole nodes of 100).
    const many = await client.submitMany(
      Array.from({ length: 400 }, () => ({ type: 'flaky', payload: { failTimes: 1 }, maxAttempts: 1 })),
    );
    await Promise.all(many.map((t) => client.result(t.taskId, { waitMs: 30_000 })));
    const length = await redis.xlen(keys.deadLetters('flaky', 'standard'));
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThanOrEqual(200);
  }, 60_000);

  it('keeps an idempotency key for as long as its task is unfinished, then for the retention', async () => {
    const { client, worker, keys } = setup('idem');
    const t = await client.submit({ type: 'probe', payload: { n: 1 }, idempotencyKey: 'once' });
    const idem = keys.idempotency('probe', 'once');
    // Queued: the task's lifetime (7 days from submit, renewed by the workers' record check while it lives), far
    // longer than the retention, so a task queued for long cannot be submitted twice.
    expect(await redis.ttl(idem)).toBeGreaterThan(7 * 86_400 - 60);
    const w = worker({ retentionMs: 60_000 }, ['probe']);
    await w.start();
    await client.result(t.taskId, { waitMs: 10_000 });
    const ttl = await redis.ttl(idem);
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  it('removes consumers that are gone (idle past the limit, nothing pending) from the group', async () => {
    const { worker, keys } = setup('stale');
    const stream = keys.stream('probe', 'standard');
    await redis.call('XGROUP', 'CREATE', stream, GROUP, '0', 'MKSTREAM');
    await redis.call('XGROUP', 'CREATECONSUMER', stream, GROUP, 'long-gone');
    await new Promise((r) => setTimeout(r, 1100));
    const w = worker({ staleConsumerMs: 1000, janitorIntervalMs: 50 }, ['probe']);
    await w.start();
    const names = async () =>
      ((await redis.call('XINFO', 'CONSUMERS', stream, GROUP)) as string[][]).map((c) => c[1]);
    await waitFor(
      'the janitor to drop the stale consumer',
      async () => !(await names()).includes('long-gone'),
      5000,
      50,
    );
    expect(await names()).not.toContain('long-gone');
  });
});

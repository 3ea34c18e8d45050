/**
 * The express lane in one process against the real Redis: submit validation, results, retries and dead letters,
 * malformed entries, strict priority and the express reserve, keepalive vs. orphan reclaim, and the autoscaler.
 */
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import {
  DEFAULT_GROUP,
  ExpressClient,
  ExpressWorker,
  IdempotencyConflictError,
  LaneKeys,
  UnrecoverableTaskError,
  InvalidPayloadError,
  LaneOptionsError,
  PayloadTooLargeError,
  RedisUnavailableError,
  TaskWaitTimeoutError,
  UnknownTaskTypeError,
  builtinTaskTypes,
  defineTaskType,
  type TaskType,
} from '../../src/lane';
import { z } from 'zod';
import { createLogger } from '../../src/logger';
import { HAND_BACK, runScript } from '../../src/lane/scripts';
import { deleteKeys, keysUnder, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { createLaneTestTypes } from '../fixtures/lane-task-types';
import { waitFor } from '../helpers/wait';
import { expectBookkeeping, freePort, percentile, runCounts } from './lane-helpers';

const quiet = createLogger('error');

describe('express lane (in process)', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  const workers: ExpressWorker[] = [];
  const clients: ExpressClient[] = [];

  function setup(name: string) {
    const prefix = uniquePrefix(`lane-${name}`);
    prefixes.push(prefix);
    const types: TaskType[] = [
      ...createLaneTestTypes({ redis, prefix, consumer: 'in-process' }),
      ...builtinTaskTypes,
    ];
    const client = new ExpressClient({ types, redisUrl: redisUrl(), keyPrefix: prefix });
    clients.push(client);
    const worker = (opts: Partial<ConstructorParameters<typeof ExpressWorker>[0]> = {}, names?: string[]) => {
      const w = new ExpressWorker({
        types: names ? types.filter((t) => names.includes(t.name)) : types,
        redisUrl: redisUrl(),
        keyPrefix: prefix,
        logger: quiet,
        ...opts,
      });
      workers.push(w);
      return w;
    };
    return { prefix, types, client, worker };
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

  it('rejects bad input at submit with a named error and enqueues nothing', async () => {
    const { client, prefix } = setup('bad-input');
    await expect(client.submit({ type: 'nope', payload: {} })).rejects.toThrow(UnknownTaskTypeError);
    await expect(client.submit({ type: 'probe', payload: { n: 'x' } })).rejects.toThrow(InvalidPayloadError);
    await expect(client.submit({ type: 'echo', payload: { message: 'x'.repeat(300_000) } })).rejects.toThrow(
      PayloadTooLargeError,
    );
    await expect(
      client.submit({ type: 'echo', payload: { message: 'x' }, lane: 'fast' as 'express' }),
    ).rejects.toThrow(LaneOptionsError);
    await expect(client.submit({ type: 'probe', payload: { n: 1 }, maxAttempts: 0 })).rejects.toThrow(
      LaneOptionsError,
    );
    expect(await keysUnder(redis, prefix)).toEqual([]);
  });

  it('fails fast with RedisUnavailableError when Redis does not answer', async () => {
    const port = await freePort();
    const client = new ExpressClient({
      types: builtinTaskTypes,
      redisUrl: `redis://127.0.0.1:${port}`,
      keyPrefix: 'unused',
      connectWaitMs: 1000,
    });
    clients.push(client);
    const started = Date.now();
    await expect(client.submit({ type: 'echo', payload: { message: 'hi' } })).rejects.toThrow(
      RedisUnavailableError,
    );
    await expect(client.submit({ type: 'echo', payload: { message: 'hi' } })).rejects.toThrow(/not accepted/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('rejects invalid worker options with a clear message', () => {
    const types = builtinTaskTypes;
    expect(() => new ExpressWorker({ types: [] })).toThrow(/types must list/);
    expect(() => new ExpressWorker({ types, concurrency: { min: 4, max: 2 } })).toThrow(/concurrency/);
    expect(() => new ExpressWorker({ types, minIdleMs: 10 })).toThrow(/minIdleMs/);
    expect(() => new ExpressWorker({ types, keyPrefix: 'a{b}' })).toThrow(LaneOptionsError);
    expect(() => new ExpressWorker({ types, redisUrl: 'http://x' })).toThrow(/redisUrl/);
  });

  it('runs tasks to success, returns results, honours idempotency keys, and records state', async () => {
    const { client, worker } = setup('basic');
    const w = worker({ concurrency: { min: 2, max: 2 }, autoscaleIntervalMs: 0 });
    await w.start();
    const submitted: unknown[] = [];
    client.on('task:submitted', (e) => submitted.push(e));
    const first = await client.submit({
      type: 'hash',
      payload: { data: 'abc', rounds: 2 },
      idempotencyKey: 'k1',
    });
    const again = await client.submit({
      type: 'hash',
      payload: { data: 'abc', rounds: 2 },
      idempotencyKey: 'k1',
    });
    expect(again.taskId).toBe(first.taskId);
    // The same key with another payload is a different request: refused, not silently merged.
    await expect(
      client.submit({ type: 'hash', payload: { data: 'zzz' }, idempotencyKey: 'k1' }),
    ).rejects.toThrow(IdempotencyConflictError);
    expect(submitted).toEqual([{ type: 'hash', lane: 'standard', taskId: first.taskId }]);
    const done = await client.result(first.taskId, { waitMs: 10_000 });
    const once = createHash('sha256').update('abc').digest('hex');
    const twice = createHash('sha256').update(once).digest('hex');
    expect(done).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      lane: 'standard',
      result: { digest: twice, rounds: 2 },
    });
    expect(done.finishedAt! >= done.startedAt! && done.startedAt! >= done.submittedAt).toBe(true);
    const echo = await client.submit({ type: 'echo', payload: { message: 'hello' } });
    expect((await client.result(echo.taskId, { waitMs: 10_000 })).result).toEqual({ message: 'hello' });
    expect(await client.get('echo:00000000-0000-0000-0000-000000000000')).toBeUndefined();
    await expectBookkeeping(client, [first.taskId, echo.taskId], ['hash', 'echo']);
  });

  it('submitAndWait returns the ended task after one read of its record (result() reads it before waiting too)', async () => {
    const { client, worker, prefix, types } = setup('submit-and-wait');
    const w = worker({ autoscaleIntervalMs: 0, retryBaseDelayMs: 50, janitorIntervalMs: 50 }, [
      'echo',
      'flaky',
    ]);
    await w.start();
    // A client on a connection of our own, whose record reads (HGETALL) are counted.
    const connection = redisClient();
    const reads: string[] = [];
    const hgetall = connection.hgetall.bind(connection) as (key: string) => Promise<Record<string, string>>;
    (connection as unknown as { hgetall: typeof hgetall }).hgetall = (key: string) => {
      reads.push(key);
      return hgetall(key);
    };
    const counted = new ExpressClient({ types, redisUrl: redisUrl(), keyPrefix: prefix, connection });
    clients.push(counted);
    try {
      await counted.submitAndWait({ type: 'echo', payload: { message: 'warm-up' } }); // subscribes, loads scripts
      const done = await counted.submitAndWait(
        { type: 'echo', payload: { message: 'hello' } },
        { waitMs: 10_000 },
      );
      expect(done).toMatchObject({ status: 'succeeded', attempts: 1, result: { message: 'hello' } });
      expect(reads.filter((k) => k.endsWith(done.taskId))).toHaveLength(1);
      const viaResult = await counted.submit({ type: 'echo', payload: { message: 'again' } });
      expect((await counted.result(viaResult.taskId, { waitMs: 10_000 })).status).toBe('succeeded');
      expect(reads.filter((k) => k.endsWith(viaResult.taskId)).length).toBeGreaterThanOrEqual(1);
    } finally {
      await counted.close();
      connection.disconnect();
    }
    // A repeated idempotency key waits for the first task; a task that ends dead is returned dead.
    const first = await client.submitAndWait({
      type: 'echo',
      payload: { message: 'k' },
      idempotencyKey: 'k',
    });
    const repeat = await client.submitAndWait({
      type: 'echo',
      payload: { message: 'k' },
      idempotencyKey: 'k',
    });
    expect(repeat).toMatchObject({ taskId: first.taskId, status: 'succeeded', result: { message: 'k' } });
    const dead = await client.submitAndWait({ type: 'flaky', payload: { failTimes: 9 }, maxAttempts: 1 });
    expect(dead).toMatchObject({ status: 'dead', attempts: 1 });
    // Nobody serves `slow` here: the timeout reports the status it read.
    await expect(client.submitAndWait({ type: 'slow', payload: { ms: 1 } }, { waitMs: 300 })).rejects.toThrow(
      TaskWaitTimeoutError,
    );
    await expect(
      client.submitAndWait({ type: 'slow', payload: { ms: 1 } }, { waitMs: 300 }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/queued/) });
  });

  it('retries with backoff, then dead-letters a task that always fails, with its error and attempts', async () => {
    const { client, worker, prefix } = setup('poison');
    const w = worker({ autoscaleIntervalMs: 0, retryBaseDelayMs: 50, janitorIntervalMs: 50 }, ['flaky']);
    const retried: number[] = [];
    const dead: string[] = [];
    w.on('task:retried', (e) => retried.push(e.attempt));
    w.on('task:dead', (e) => dead.push(e.reason));
    await w.start();
    const poison = await client.submit({ type: 'flaky', payload: { failTimes: 99 }, maxAttempts: 3 });
    const recovers = await client.submit({ type: 'flaky', payload: { failTimes: 2 }, maxAttempts: 3 });
    const [p, r] = await Promise.all([
      client.result(poison.taskId, { waitMs: 15_000 }),
      client.result(recovers.taskId, { waitMs: 15_000 }),
    ]);
    expect(p).toMatchObject({ status: 'dead', attempts: 3 });
    expect(p.error).toMatch(/planned failure 3\/99/);
    expect(r).toMatchObject({ status: 'succeeded', attempts: 3, result: { attempt: 3 } });
    expect(dead).toEqual(['max-attempts']);
    expect(retried.sort()).toEqual([1, 1, 2, 2]);
    const letters = (await redis.xrange(w.keys.deadLetters('flaky', 'standard'), '-', '+')).map(([, f]) => f);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toEqual(
      expect.arrayContaining(['id', poison.taskId, 'reason', 'max-attempts', 'attempts', '3']),
    );
    const runs = await runCounts(redis, prefix);
    expect([runs.get(poison.taskId), runs.get(recovers.taskId)]).toEqual([3, 3]);
    await expectBookkeeping(client, [poison.taskId, recovers.taskId], ['flaky']);
    expect((await client.stats(['flaky'])).find((s) => s.lane === 'standard')?.deadLetters).toBe(1);
  });

  it('dead-letters malformed stream entries with the reason instead of crashing', async () => {
    const { client, worker } = setup('malformed');
    const w = worker({ autoscaleIntervalMs: 0 }, ['probe']);
    const reasons: string[] = [];
    w.on('task:dead', (e) => reasons.push(e.reason));
    await w.start();
    const stream = w.keys.stream('probe', 'express');
    await redis.xadd(stream, '*', 'garbage', 'yes');
    await redis.xadd(
      stream,
      '*',
      'id',
      'probe:x',
      'payload',
      '{not json',
      'attempt',
      '1',
      'max',
      '3',
      'timeout',
      '1000',
      'at',
      '0',
    );
    // A well-formed entry whose task id names another type: its record would be written where no client looks.
    const foreignId = 'echo:00000000-0000-0000-0000-00000000000f';
    await redis.xadd(
      stream,
      '*',
      ...['id', foreignId, 'payload', '{"n":1}', 'attempt', '1', 'max', '3', 'timeout', '1000', 'at', '0'],
    );
    const good = await client.submit({ type: 'probe', lane: 'express', payload: { n: 7 } });
    expect((await client.result(good.taskId, { waitMs: 10_000 })).status).toBe('succeeded');
    const letters = await redis.xrange(w.keys.deadLetters('probe', 'express'), '-', '+');
    expect(letters.map(([, f]) => f[f.indexOf('reason') + 1]).sort()).toEqual([
      'malformed-entry',
      'malformed-entry',
      'malformed-entry',
    ]);
    expect(
      letters.some(([, f]) => /of type "echo" in the "probe" stream/.test(f[f.indexOf('error') + 1]!)),
    ).toBe(true);
    expect(reasons).toEqual(['malformed-entry', 'malformed-entry', 'malformed-entry']);
    expect(await client.get(foreignId)).toBeUndefined();
    await expectBookkeeping(client, [good.taskId], ['probe']);
  });

  it('ends a task dead, without retries, when its handler returns a result JSON cannot hold', async () => {
    const prefix = uniquePrefix('lane-unserialisable');
    prefixes.push(prefix);
    let runs = 0;
    const bigint = defineTaskType({
      name: 'bigint',
      schema: z.object({}),
      handler: async () => {
        runs++;
        return { n: 1n };
      },
      defaults: { lane: 'express', maxAttempts: 3 },
    });
    const client = new ExpressClient({ types: [bigint], redisUrl: redisUrl(), keyPrefix: prefix });
    clients.push(client);
    const w = new ExpressWorker({ types: [bigint], redisUrl: redisUrl(), keyPrefix: prefix, logger: quiet });
    workers.push(w);
    await w.start();
    const t = await client.submit({ type: 'bigint', payload: {} });
    const info = await client.result(t.taskId, { waitMs: 10_000 });
    expect(info.status).toBe('dead');
    expect(info.error).toMatch(/result is not JSON-serialisable/);
    expect(runs).toBe(1);
    await expectBookkeeping(client, [t.taskId], ['bigint']);
  });

  it('serves express tasks before 10,000 queued standard tasks', async () => {
    const { client, worker } = setup('priority');
    const w = worker({ concurrency: { min: 8, max: 8 }, expressReserve: 1, autoscaleIntervalMs: 0 }, [
      'probe',
    ]);
    const standard = await client.submitMany(
      Array.from({ length: 10_000 }, (_, n) => ({
        type: 'probe',
        lane: 'standard' as const,
        payload: { n },
      })),
    );
    await w.start();
    // Let the worker get going on the standard backlog, then submit express work behind it.
    await client.result(standard[200]!.taskId, { waitMs: 30_000 });
    const express = await client.submitMany(
      Array.from({ length: 20 }, (_, n) => ({ type: 'probe', lane: 'express' as const, payload: { n } })),
    );
    const expressDone = await Promise.all(express.map((t) => client.result(t.taskId, { waitMs: 30_000 })));
    const standardDone = await Promise.all(standard.map((t) => client.result(t.taskId, { waitMs: 60_000 })));
    const latency = (i: { finishedAt?: number; submittedAt: number }) => i.finishedAt! - i.submittedAt;
    const expressP95 = percentile(expressDone.map(latency), 95);
    const standardP50 = percentile(standardDone.map(latency), 50);
    // Express tasks were submitted after thousands of standard tasks still waiting, yet finished long before them.
    const lastExpressFinish = Math.max(...expressDone.map((i) => i.finishedAt!));
    const standardFinishedAfter = standardDone.filter((i) => i.finishedAt! > lastExpressFinish).length;
    expect(standardFinishedAfter).toBeGreaterThan(1000);
    expect(expressP95).toBeLessThan(standardP50 / 5);
    await expectBookkeeping(
      client,
      [...standard, ...express].map((t) => t.taskId),
      ['probe'],
    );
  }, 90_000);

  it('starts an express task at once while every standard slot is busy with long tasks', async () => {
    const { client, worker } = setup('reserve');
    const w = worker({ concurrency: { min: 3, max: 3 }, expressReserve: 1, autoscaleIntervalMs: 0 }, [
      'slow',
    ]);
    // What happened, in order: no clock to race, the claim is that express did not wait for a standard slot.
    const order: string[] = [];
    let started = 0;
    w.on('task:started', (e) => {
      started++;
      order.push(`started ${e.lane}`);
    });
    w.on('task:succeeded', (e) => order.push(`succeeded ${e.lane}`));
    await w.start();
    const long = await client.submitMany(
      Array.from({ length: 3 }, () => ({ type: 'slow', lane: 'standard' as const, payload: { ms: 4000 } })),
    );
    await waitFor('two standard tasks running', () => started >= 2, 10_000, 10);
    expect(w.inFlight).toBe(2); // the third standard task waits: one slot is kept for express
    const quick = await client.submit({ type: 'slow', lane: 'express', payload: { ms: 10 } });
    const done = await client.result(quick.taskId, { waitMs: 15_000 });
    expect(done.status).toBe('succeeded');
    // The express task started and finished while both long tasks still ran and the third still waited for a slot.
    expect(order.slice(0, 4)).toEqual([
      'started standard',
      'started standard',
      'started express',
      'succeeded express',
    ]);
    await Promise.all(long.map((t) => client.result(t.taskId, { waitMs: 30_000 })));
    await expectBookkeeping(
      client,
      [...long, quick].map((t) => t.taskId),
      ['slow'],
    );
  });

  it('tells handlers a redelivery (reclaimed, handed back, replayed dead letter) from a first delivery', async () => {
    const prefix = uniquePrefix('lane-redelivered');
    prefixes.push(prefix);
    const keys = new LaneKeys(prefix);
    const seen = new Map<string, (boolean | undefined)[]>();
    const noted = defineTaskType({
      name: 'noted',
      schema: z.object({ failFirst: z.boolean() }),
      handler: async ({ failFirst }, ctx) => {
        seen.set(ctx.taskId, [...(seen.get(ctx.taskId) ?? []), ctx.redelivered]);
        if (failFirst && !ctx.redelivered) throw new UnrecoverableTaskError('fails until replayed');
        return null;
      },
    });
    const client = new ExpressClient({ types: [noted], redisUrl: redisUrl(), keyPrefix: prefix });
    clients.push(client);
    const stream = keys.stream('noted', 'standard');
    await redis.call('XGROUP', 'CREATE', stream, DEFAULT_GROUP, '0', 'MKSTREAM');
    // Two entries read by a consumer that then "dies": one is left to the janitor, one it hands back first.
    const orphan = await client.submit({ type: 'noted', payload: { failFirst: false } });
    const handedBack = await client.submit({ type: 'noted', payload: { failFirst: false } });
    const read = (await redis.xreadgroup(
      'GROUP',
      DEFAULT_GROUP,
      'ghost',
      'COUNT',
      2,
      'STREAMS',
      stream,
      '>',
    )) as [string, [string, string[]][]][];
    const back = read[0]![1][1]!;
    expect(
      await runScript(
        redis,
        HAND_BACK,
        [stream, keys.task(handedBack.taskId)],
        [DEFAULT_GROUP, 'ghost', back[0], ...back[1]],
      ),
    ).toBe(1);
    const fresh = await client.submit({ type: 'noted', payload: { failFirst: false } });
    const replayed = await client.submit({ type: 'noted', payload: { failFirst: true } });
    const w = new ExpressWorker({
      types: [noted],
      redisUrl: redisUrl(),
      keyPrefix: prefix,
      logger: quiet,
      minIdleMs: 300,
      janitorIntervalMs: 50,
      autoscaleIntervalMs: 0,
    });
    workers.push(w);
    await w.start();
    for (const t of [orphan, handedBack, fresh])
      expect((await client.result(t.taskId, { waitMs: 10_000 })).status).toBe('succeeded');
    expect((await client.result(replayed.taskId, { waitMs: 10_000 })).status).toBe('dead');
    expect((await client.retryDead('noted', 'standard')).retried).toEqual([replayed.taskId]);
    expect((await client.result(replayed.taskId, { waitMs: 10_000 })).status).toBe('succeeded');
    expect(Object.fromEntries(seen)).toEqual({
      [orphan.taskId]: [true],
      [handedBack.taskId]: [true],
      [fresh.taskId]: [false],
      [replayed.taskId]: [false, true],
    });
  });

  it('keeps a slow task on its live worker: no other worker steals it after minIdleMs', async () => {
    const { client, worker, prefix } = setup('no-steal');
    const opts = {
      minIdleMs: 300,
      janitorIntervalMs: 50,
      autoscaleIntervalMs: 0,
      concurrency: { min: 1, max: 1 },
      expressReserve: 0,
    };
    const a = worker({ ...opts, consumerName: 'a' }, ['slow']);
    const b = worker({ ...opts, consumerName: 'b' }, ['slow']);
    const reclaimed: number[] = [];
    a.on('orphans:reclaimed', (e) => reclaimed.push(e.count));
    b.on('orphans:reclaimed', (e) => reclaimed.push(e.count));
    await a.start();
    const slow = await client.submit({ type: 'slow', payload: { ms: 2000 } });
    await b.start();
    const done = await client.result(slow.taskId, { waitMs: 10_000 });
    expect(done.status).toBe('succeeded');
    expect((await runCounts(redis, prefix)).get(slow.taskId)).toBe(1);
    expect(reclaimed).toEqual([]);
    await expectBookkeeping(client, [slow.taskId], ['slow']);
  });

  it('autoscales toward max under a growing backlog with a slow handler, and back to min when idle', async () => {
    const { client, worker } = setup('autoscale');
    const w = worker(
      { concurrency: { min: 1, max: 8 }, targetP95Ms: 50, autoscaleIntervalMs: 200, expressReserve: 0 },
      ['slow'],
    );
    const decisions: { from: number; to: number; reason: string }[] = [];
    w.on('autoscale', (d) => decisions.push(d));
    await w.start();
    expect(w.concurrency).toBe(1);
    const ids: string[] = [];
    for (let wave = 0; wave < 4; wave++) {
      const batch = await client.submitMany(
        Array.from({ length: 15 }, () => ({ type: 'slow', payload: { ms: 150 } })),
      );
      ids.push(...batch.map((t) => t.taskId));
      await new Promise((r) => setTimeout(r, 300)); // the backlog grows between waves
    }
    await Promise.all(ids.map((id) => client.result(id, { waitMs: 30_000 })));
    const peak = Math.max(...decisions.map((d) => d.to));
    expect(peak).toBe(8);
    // Idle now: the autoscaler walks concurrency back down.
    await waitFor(
      () => `concurrency back to 1 (now ${w.concurrency})`,
      () => w.concurrency === 1,
      5000,
    );
    expect(decisions.some((d) => d.to < d.from && /idle/.test(d.reason))).toBe(true);
    await expectBookkeeping(client, ids, ['slow']);
  }, 60_000);
  it('on stop, hands unfinished tasks back past the drain limit so another worker finishes them', async () => {
    const { client, worker, prefix } = setup('drain');
    const opts = { autoscaleIntervalMs: 0, concurrency: { min: 2, max: 2 }, expressReserve: 0 };
    const leaving = worker({ ...opts, consumerName: 'leaving', drainTimeoutMs: 200 }, ['slow']);
    const started: string[] = [];
    leaving.on('task:started', (e) => started.push(e.type));
    await leaving.start();
    const tasks = await client.submitMany([
      { type: 'slow', payload: { ms: 50 } },
      { type: 'slow', payload: { ms: 3000 } },
      { type: 'slow', payload: { ms: 3000 } },
    ]);
    // The quick task finishes and the second long one takes its slot: two long tasks are running at the stop.
    while (started.length < 3) await new Promise((r) => setTimeout(r, 10));
    await leaving.stop();
    // stop() returned at the drain limit, not when the 3 s tasks finished: they are still unfinished.
    const atStop = await Promise.all(tasks.slice(1).map((t) => client.get(t.taskId)));
    expect(atStop.map((i) => i?.status)).not.toContain('succeeded');
    const staying = worker({ ...opts, consumerName: 'staying', minIdleMs: 60_000 }, ['slow']);
    let finishedByStaying = 0;
    staying.on('task:succeeded', () => finishedByStaying++);
    await staying.start();
    // minIdleMs is a minute: the staying worker gets them because they were handed back, not reclaimed.
    const done = await Promise.all(tasks.map((t) => client.result(t.taskId, { waitMs: 15_000 })));
    expect(done.map((d) => d.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(finishedByStaying).toBe(2);
    const runs = await runCounts(redis, prefix);
    expect(tasks.map((t) => runs.get(t.taskId))).toEqual([1, 2, 2]); // interrupted once, then run again
    await expectBookkeeping(
      client,
      tasks.map((t) => t.taskId),
      ['slow'],
    );
  });
});

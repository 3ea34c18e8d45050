/**
 * Stream partitions of a hot task type (src/lane/partitions.ts): producers spread tasks over the partitions (by
 * idempotency key, else round robin), workers read every partition with express before standard across them, and
 * retries, dead letters, idempotency and orphan recovery hold per partition. Under jest.cluster.config.js the
 * partitions are on a real Redis Cluster (and land on more than one master); the pure parts need no Redis.
 */
import { setTimeout as delay } from 'node:timers/promises';
import calculateSlot from 'cluster-key-slot';
import { z } from 'zod';
import {
  defineTaskType,
  ExpressClient,
  ExpressWorker,
  IdempotencyConflictError,
  LaneKeys,
  LaneOptionsError,
  type TaskType,
} from '../../src/lane';
import { streamTagOfTaskId, typeOfTaskId } from '../../src/lane/keys';
import {
  parseDeadLetterId,
  PartitionChooser,
  partitionTags,
  qualifiedDeadLetterId,
} from '../../src/lane/partitions';
import { createLogger } from '../../src/logger';
import { deleteKeys, onCluster, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

const quiet = createLogger('silent');

describe('partition rules (pure)', () => {
  it('names partitions, spreads round robin, and keeps an idempotency key on one partition', () => {
    expect(partitionTags('hot', 3)).toEqual(['hot', 'hot~1', 'hot~2']);
    const chooser = new PartitionChooser();
    expect(Array.from({ length: 7 }, () => chooser.choose('hot', 3))).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(chooser.choose('one', 1)).toBe(0);
    const again = new PartitionChooser();
    const keys = Array.from({ length: 300 }, (_, i) => `key-${i}`);
    const picks = keys.map((k) => chooser.choose('hot', 3, k));
    // Another process (a fresh chooser) puts each key on the same partition.
    expect(keys.map((k) => again.choose('hot', 3, k))).toEqual(picks);
    for (const p of [0, 1, 2]) expect(picks.filter((x) => x === p).length).toBeGreaterThan(60);
  });

  it('puts a partition’s task in the partition’s slot, and reads the type back from the id', () => {
    const keys = new LaneKeys('pfx');
    expect(keys.task('hot~2:abc')).toBe('pfx:lane:{hot~2}:task:hot~2:abc');
    expect(calculateSlot(keys.task('hot~2:abc'))).toBe(calculateSlot(keys.stream('hot~2', 'express')));
    expect(keys.task('hot:abc')).toBe('pfx:lane:{hot}:task:hot:abc');
    expect(typeOfTaskId('hot~2:abc')).toBe('hot');
    expect(streamTagOfTaskId('hot~2:abc')).toBe('hot~2');
    for (const bad of ['hot~0:abc', 'hot~64:abc', 'hot~x:abc', '~1:abc'])
      expect(() => streamTagOfTaskId(bad)).toThrow(LaneOptionsError);
    expect(parseDeadLetterId(qualifiedDeadLetterId(2, '1700000000000-3'))).toEqual({
      partition: 2,
      entryId: '1700000000000-3',
    });
    expect(qualifiedDeadLetterId(0, '1700000000000-3')).toBe('1700000000000-3');
  });

  it('refuses a partition count out of range', () => {
    const base = { name: 'p', schema: z.object({}), handler: async () => null };
    expect(() => defineTaskType({ ...base, defaults: { partitions: 0 } })).toThrow(LaneOptionsError);
    expect(() => defineTaskType({ ...base, defaults: { partitions: 65 } })).toThrow(LaneOptionsError);
  });
});

describe('a type split into 3 stream partitions', () => {
  const redis = redisClient();
  const prefixes: string[] = [];
  const workers: ExpressWorker[] = [];
  const clients: ExpressClient[] = [];

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(clients.map((c) => c.close()));
    for (const p of prefixes) await deleteKeys(redis, p);
    redis.disconnect();
  });

  function setup(name: string) {
    const prefix = uniquePrefix(`partitions-${name}`);
    prefixes.push(prefix);
    const started: { taskId: string; at: number }[] = [];
    const hot = defineTaskType({
      name: 'hot',
      schema: z.object({
        n: z.number().int(),
        ms: z.number().int().default(0),
        fail: z.boolean().default(false),
      }),
      handler: async ({ n, ms, fail }, ctx) => {
        started.push({ taskId: ctx.taskId, at: Date.now() });
        if (ms) await delay(ms);
        if (fail) throw new Error(`planned failure of ${n}`);
        return { n, attempt: ctx.attempt };
      },
      defaults: { partitions: 3, lane: 'standard', maxAttempts: 2 },
    });
    const types: TaskType[] = [hot as TaskType];
    const client = new ExpressClient({ types, redisUrl: redisUrl(), keyPrefix: prefix });
    clients.push(client);
    const worker = (opts: Partial<ConstructorParameters<typeof ExpressWorker>[0]> = {}) => {
      const w = new ExpressWorker({
        types,
        redisUrl: redisUrl(),
        keyPrefix: prefix,
        logger: quiet,
        blockMs: 200,
        retryBaseDelayMs: 20,
        ...opts,
      });
      workers.push(w);
      return w;
    };
    return { prefix, client, worker, started, keys: new LaneKeys(prefix) };
  }

  it('spreads submits over every partition and runs them all from one worker', async () => {
    const { client, worker, keys } = setup('spread');
    await worker().start();
    const submitted = await client.submitMany(
      Array.from({ length: 30 }, (_, n) => ({ type: 'hot', payload: { n } })),
    );
    const tags = submitted.map((s) => streamTagOfTaskId(s.taskId));
    expect(['hot', 'hot~1', 'hot~2'].map((t) => tags.filter((x) => x === t).length)).toEqual([10, 10, 10]);
    const results = await Promise.all(submitted.map((s) => client.result(s.taskId, { waitMs: 30_000 })));
    expect(results.map((r) => [r.status, r.type])).toEqual(results.map(() => ['succeeded', 'hot']));
    const stats = await client.stats(['hot']);
    expect(stats.map((s) => [s.lane, s.length, s.pending, s.delayed])).toEqual([
      ['express', 0, 0, 0],
      ['standard', 0, 0, 0],
    ]);
    if (onCluster()) {
      // On the cluster each partition has a slot of its own (and so may sit on its own master).
      const slots = new Set(['hot', 'hot~1', 'hot~2'].map((t) => calculateSlot(keys.stream(t, 'standard'))));
      expect(slots.size).toBe(3);
    }
  });

  it('keeps an idempotency key on one partition: a repeat returns the first task, another payload conflicts', async () => {
    const { client } = setup('idem');
    const first = await client.submit({ type: 'hot', payload: { n: 1 }, idempotencyKey: 'order-42' });
    const again = await client.submit({ type: 'hot', payload: { n: 1 }, idempotencyKey: 'order-42' });
    expect(again.taskId).toBe(first.taskId);
    await expect(
      client.submit({ type: 'hot', payload: { n: 2 }, idempotencyKey: 'order-42' }),
    ).rejects.toThrow(IdempotencyConflictError);
  });

  it('retries and dead-letters per partition; lists, retries and purges the letters of every partition', async () => {
    const { client, worker } = setup('dead');
    await worker().start();
    const submitted = await client.submitMany(
      Array.from({ length: 3 }, (_, n) => ({
        type: 'hot',
        lane: 'express' as const,
        payload: { n, fail: true },
      })),
    );
    const results = await Promise.all(submitted.map((s) => client.result(s.taskId, { waitMs: 30_000 })));
    expect(results.map((r) => [r.status, r.attempts])).toEqual(results.map(() => ['dead', 2]));
    const letters = await client.deadLetters('hot', 'express');
    expect(letters.map((l) => l.taskId).sort()).toEqual(submitted.map((s) => s.taskId).sort());
    // One letter per partition; partition p > 0 letters carry `p:` in their id.
    expect(letters.map((l) => parseDeadLetterId(l.id).partition).sort()).toEqual([0, 1, 2]);
    expect((await client.stats(['hot'])).find((s) => s.lane === 'express')!.deadLetters).toBe(3);

    const { retried, missing } = await client.retryDead(
      'hot',
      'express',
      letters.map((l) => l.id),
    );
    expect({ retried: retried.sort(), missing }).toEqual({
      retried: submitted.map((s) => s.taskId).sort(),
      missing: [],
    });
    // Replayed as the same tasks; they fail again and are dead again, one new letter each.
    await waitFor(
      'three dead letters again',
      async () => (await client.deadLetters('hot', 'express')).length >= 3,
      30_000,
    );
    expect(await client.purgeDead('hot', 'express')).toBe(3);
    expect(await client.deadLetters('hot', 'express')).toEqual([]);
  });

  it('serves express before standard across partitions', async () => {
    const { client, worker, started } = setup('priority');
    const standard = await client.submitMany(
      Array.from({ length: 45 }, (_, n) => ({
        type: 'hot',
        lane: 'standard' as const,
        payload: { n, ms: 20 },
      })),
    );
    const express = await client.submitMany(
      Array.from({ length: 6 }, (_, n) => ({
        type: 'hot',
        lane: 'express' as const,
        payload: { n, ms: 20 },
      })),
    );
    // Submitted last, over all three partitions: the express tasks must still run among the first ones.
    expect(new Set(express.map((e) => streamTagOfTaskId(e.taskId))).size).toBe(3);
    await worker({ concurrency: { min: 2, max: 2 }, expressReserve: 1, autoscaleIntervalMs: 0 }).start();
    await Promise.all([...standard, ...express].map((s) => client.result(s.taskId, { waitMs: 60_000 })));
    const order = started.map((s) => s.taskId);
    const expressIds = new Set(express.map((e) => e.taskId));
    const lastExpress = Math.max(...order.map((id, i) => (expressIds.has(id) ? i : -1)));
    // With one standard slot, express work (one reserved slot, plus the standard one when free) is done early.
    expect(lastExpress).toBeLessThan(20);
  });

  it('recovers an orphaned entry of a partition (its consumer died holding it)', async () => {
    const { client, worker, keys } = setup('orphan');
    // Find a task that went to partition 2 and take its entry as a consumer that then "dies".
    const submitted = await client.submitMany(
      Array.from({ length: 3 }, (_, n) => ({ type: 'hot', lane: 'express' as const, payload: { n } })),
    );
    const orphan = submitted.find((s) => streamTagOfTaskId(s.taskId) === 'hot~2')!;
    const stream = keys.stream('hot~2', 'express');
    await redis.call('XGROUP', 'CREATE', stream, 'sagalane-workers', '0', 'MKSTREAM');
    await redis.call(
      'XREADGROUP',
      'GROUP',
      'sagalane-workers',
      'dead-consumer',
      'COUNT',
      10,
      'STREAMS',
      stream,
      '>',
    );
    await worker({ minIdleMs: 500, janitorIntervalMs: 100 }).start();
    const info = await client.result(orphan.taskId, { waitMs: 30_000 });
    expect(info.status).toBe('succeeded');
    const all = await Promise.all(submitted.map((s) => client.result(s.taskId, { waitMs: 30_000 })));
    expect(all.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });
});

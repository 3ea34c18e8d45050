/**
 * The express lane on a real Redis Cluster (3 masters, 3 replicas): task types whose slots live on different
 * masters are served by one worker (reads grouped per slot, no CROSSSLOT), completions arrive over sharded pub/sub,
 * a durable submit is on the replica when it resolves, and an entry naming another type's task cannot make a
 * script reach into another slot. Runs on the cluster of jest.cluster.config.js, or starts its own.
 */
import Redis, { Cluster } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import {
  builtinTaskTypes,
  ExpressClient,
  ExpressWorker,
  NotReplicatedError,
  type TaskType,
} from '../../src/lane';
import { createLogger } from '../../src/logger';
import { clusterUrl } from '../../src/config';
import { createLaneTestTypes } from '../fixtures/lane-task-types';
import { clusterNodes, startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster';
import { deleteKeys, uniquePrefix } from '../helpers/redis';
import { freePort, PrivateRedis } from '../lane/lane-helpers';
import { waitFor } from '../helpers/wait';

const quiet = createLogger('silent');

describe('express lane on a Redis Cluster', () => {
  let own: RedisClusterHandle | undefined;
  let nodesList: string;
  let url: string;
  let admin: Cluster;
  const prefix = uniquePrefix('cluster-lane');
  let types: TaskType[];
  let client: ExpressClient;
  let worker: ExpressWorker;

  beforeAll(async () => {
    if (!process.env.REDIS_CLUSTER_NODES) own = await startRedisCluster();
    nodesList = process.env.REDIS_CLUSTER_NODES ?? own!.nodesList;
    url = clusterUrl(nodesList.split(','));
    admin = new Cluster(
      nodesList.split(',').map((n) => ({ host: n.split(':')[0], port: Number(n.split(':')[1]) })),
    );
    types = [...createLaneTestTypes({ redis: admin, prefix, consumer: 'w1' }), ...builtinTaskTypes];
    client = new ExpressClient({ types, redisUrl: url, keyPrefix: prefix });
    worker = new ExpressWorker({
      types,
      redisUrl: url,
      keyPrefix: prefix,
      consumerName: 'w1',
      logger: quiet,
      concurrency: { min: 8, max: 8 },
      expressReserve: 2,
      blockMs: 200,
      retryBaseDelayMs: 20,
    });
    await worker.start();
  }, 90_000);

  afterAll(async () => {
    await worker?.stop();
    await client?.close();
    if (admin) {
      await deleteKeys(admin, prefix);
      admin.disconnect();
    }
    await own?.stop();
  });

  /** Port of the master serving `key`'s slot, as the cluster itself reports it. */
  function masterOf(key: string): number {
    const slot = calculateSlot(key);
    const first = Number(nodesList.split(',')[0]!.split(':')[1]);
    const m = clusterNodes(first).find(
      (n) => n.role === 'master' && n.slots.some(([a, b]) => slot >= a && slot <= b),
    );
    return m!.port;
  }

  it('serves types whose streams live on different masters from one worker, results over sharded pub/sub', async () => {
    const names = types
      .filter((t) => ['probe', 'probe2', 'echo', 'hash', 'flaky'].includes(t.name))
      .map((t) => t.name);
    const masters = new Set(names.map((n) => masterOf(client.keys.stream(n, 'express'))));
    // The point of the test: the worker's streams really span shards (else one XREADGROUP would do).
    expect(masters.size).toBeGreaterThanOrEqual(2);

    const payloadOf = (name: string, i: number): unknown =>
      name === 'echo'
        ? { message: `m${i}` }
        : name === 'hash'
          ? { data: `d${i}` }
          : name === 'flaky'
            ? { failTimes: 1 }
            : { n: i };
    const submitted = await client.submitMany(
      names.flatMap((name) =>
        (['express', 'standard'] as const).flatMap((lane) =>
          Array.from({ length: 10 }, (_, i) => ({ type: name, lane, payload: payloadOf(name, i) })),
        ),
      ),
    );
    expect(submitted).toHaveLength(names.length * 2 * 10);
    const started = Date.now();
    // waitMs far above what the tasks take: result() only returns early when a completion message wakes it.
    const results = await Promise.all(submitted.map((s) => client.result(s.taskId, { waitMs: 60_000 })));
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 'succeeded'));
    // flaky failed once and succeeded on its retry: the retry path (RETRY + PROMOTE) works per slot too.
    expect(results.filter((r) => r.type === 'flaky').every((r) => r.attempts === 2)).toBe(true);

    const stats = await client.stats(names);
    expect(stats.filter((s) => s.length || s.pending || s.delayed)).toEqual([]);
  });

  it('acknowledges a durable submit only once the slot master’s replica holds the task', async () => {
    const { taskId } = await client.submit({ type: 'echo', payload: { message: 'durable' }, durable: true });
    const key = client.keys.task(taskId);
    const masterPort = masterOf(key);
    const nodes = clusterNodes(masterPort);
    const masterId = nodes.find((n) => n.port === masterPort)!.id;
    const replicaPort = nodes.find((n) => n.role === 'replica' && n.masterId === masterId)!.port;
    const replica = new Redis({ host: '127.0.0.1', port: replicaPort, lazyConnect: true });
    try {
      await replica.connect();
      await replica.call('READONLY');
      expect(await replica.hget(key, 'submittedAt')).toEqual(expect.any(String));
    } finally {
      replica.disconnect();
    }
    expect((await client.result(taskId)).status).toBe('succeeded');
  });

  it('dead-letters an entry naming another type’s task instead of reaching into that type’s slot', async () => {
    const victim = await client.submit({ type: 'probe2', lane: 'express', payload: { n: 1 } });
    await client.result(victim.taskId);
    // An entry in probe's stream that claims to be probe2's task: its record lives in another slot (and master).
    expect(masterOf(client.keys.stream('probe', 'express'))).not.toBe(-1);
    await admin.xadd(
      client.keys.stream('probe', 'express'),
      '*',
      ...[
        'id',
        victim.taskId,
        'payload',
        '{"n":2}',
        'attempt',
        '1',
        'max',
        '3',
        'timeout',
        '5000',
        'at',
        '1',
      ],
    );
    const letters = await waitFor(
      'the malformed entry dead-lettered',
      async () => {
        const found = await client.deadLetters('probe', 'express');
        return found.length > 0 && found;
      },
      20_000,
    );
    expect(letters.map((l) => ({ reason: l.reason, taskId: l.taskId }))).toEqual([
      { reason: 'malformed-entry', taskId: '' },
    ]);
    // probe2's record is untouched: still the first run's success.
    expect((await client.get(victim.taskId))!.status).toBe('succeeded');
    expect(await client.purgeDead('probe', 'express')).toBe(1);
  });

  it('lists, retries and purges dead letters on the cluster', async () => {
    const poison = await client.submit({
      type: 'flaky',
      lane: 'express',
      payload: { failTimes: 99 },
      maxAttempts: 1,
    });
    expect((await client.result(poison.taskId)).status).toBe('dead');
    const letters = await client.deadLetters('flaky', 'express');
    expect(letters.map((l) => l.taskId)).toContain(poison.taskId);
    // Replayed as the same task; it fails the same way (one attempt allowed) and is dead again, with a new letter.
    const { retried } = await client.retryDead('flaky', 'express', [
      letters.find((l) => l.taskId === poison.taskId)!.id,
    ]);
    expect(retried).toEqual([poison.taskId]);
    await waitFor(
      'a dead letter',
      async () => (await client.deadLetters('flaky', 'express')).length > 0,
      20_000,
    );
    expect((await client.get(poison.taskId))!.status).toBe('dead');
    expect(await client.purgeDead('flaky', 'express')).toBeGreaterThanOrEqual(1);
    expect(await client.deadLetters('flaky', 'express')).toEqual([]);
  });
});

describe('durable submit without a replica', () => {
  it('rejects with NotReplicatedError naming the enqueued task', async () => {
    const server = new PrivateRedis(await freePort());
    await server.start();
    const prefix = uniquePrefix('durable-single');
    const client = new ExpressClient({
      types: builtinTaskTypes,
      redisUrl: server.url,
      keyPrefix: prefix,
      durableWaitMs: 100,
    });
    try {
      const err = await client
        .submit({ type: 'echo', payload: { message: 'x' }, durable: true })
        .catch((e) => e);
      expect(err).toBeInstanceOf(NotReplicatedError);
      // The task was enqueued all the same: the error says so, and the record is there.
      const taskId = (err as NotReplicatedError).taskIds[0]!;
      expect((await client.get(taskId))!.status).toBe('queued');
      // A submit without the option is not held up by the missing replica.
      await expect(client.submit({ type: 'echo', payload: { message: 'y' } })).resolves.toEqual({
        taskId: expect.any(String),
      });
    } finally {
      await client.close();
      await server.destroy();
    }
  });
});

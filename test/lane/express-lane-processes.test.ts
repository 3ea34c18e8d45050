/**
 * The express lane with real worker processes (`tsx test/fixtures/lane-worker.ts`): horizontal scaling without
 * duplicates or cross-type deliveries, orphan recovery after `kill -9`, a poison task that kills its consumer
 * every time, and a Redis restart mid-run (on a private redis-server, never the shared one).
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { ExpressClient, RedisUnavailableError, type TaskInfo } from '../../src/lane';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { waitFor } from '../helpers/wait';
import { laneTestTypeSchemas } from '../fixtures/lane-task-types';
import {
  expectBookkeeping,
  freePort,
  PrivateRedis,
  runCounts,
  spawnWorker,
  stopWorker,
  type WorkerProcess,
} from './lane-helpers';

jest.setTimeout(120_000);

describe('express lane with worker processes', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  const procs: WorkerProcess[] = [];
  const clients: ExpressClient[] = [];

  function setup(name: string, url = redisUrl()) {
    const prefix = uniquePrefix(`lanep-${name}`);
    prefixes.push(prefix);
    const client = new ExpressClient({ types: laneTestTypeSchemas, redisUrl: url, keyPrefix: prefix });
    clients.push(client);
    const worker = async (consumer: string, types: string[], opts: Record<string, unknown> = {}) => {
      const w = await spawnWorker({
        redisUrl: url,
        keyPrefix: prefix,
        types,
        consumerName: consumer,
        ...opts,
      });
      procs.push(w);
      return w;
    };
    return { prefix, client, worker };
  }

  beforeAll(() => {
    redis = redisClient();
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => stopWorker(p, 'SIGKILL')));
    await Promise.all(clients.map((c) => c.close()));
    for (const p of prefixes) await deleteKeys(redis, p);
    redis.disconnect();
  });

  it('spreads 2,000 tasks over 3 processes: each done exactly once, only by consumers of its type', async () => {
    const { client, worker, prefix } = setup('scale');
    const [a, b, c] = await Promise.all([
      worker('p1-probe', ['probe'], { concurrency: { min: 8, max: 8 }, autoscaleIntervalMs: 0 }),
      worker('p2-probe', ['probe'], { concurrency: { min: 8, max: 8 }, autoscaleIntervalMs: 0 }),
      worker('p3-probe2', ['probe2'], { concurrency: { min: 8, max: 8 }, autoscaleIntervalMs: 0 }),
    ]);
    const requests = Array.from({ length: 2000 }, (_, n) => ({
      type: n % 4 === 3 ? 'probe2' : 'probe',
      lane: n % 2 === 0 ? ('express' as const) : ('standard' as const),
      payload: { n },
    }));
    const tasks = await client.submitMany(requests);
    const done = await Promise.all(tasks.map((t) => client.result(t.taskId, { waitMs: 60_000 })));
    expect(done.every((d) => d.status === 'succeeded')).toBe(true);
    const runs = await runCounts(redis, prefix);
    const duplicates = tasks.filter((t) => runs.get(t.taskId) !== 1);
    expect(duplicates).toEqual([]);
    const ranOn = await redis.hgetall(`${prefix}:test:ranOn`);
    const byConsumer = new Map<string, number>();
    for (const t of tasks) {
      const consumer = ranOn[t.taskId]!;
      byConsumer.set(consumer, (byConsumer.get(consumer) ?? 0) + 1);
      expect(consumer.endsWith(t.taskId.startsWith('probe2:') ? '-probe2' : '-probe')).toBe(true);
    }
    expect(byConsumer.get(c.consumer)).toBe(500);
    // Both probe processes took part (horizontal scaling through the shared group).
    expect(byConsumer.get(a.consumer)! + byConsumer.get(b.consumer)!).toBe(1500);
    expect(Math.min(byConsumer.get(a.consumer)!, byConsumer.get(b.consumer)!)).toBeGreaterThan(100);
    await expectBookkeeping(
      client,
      tasks.map((t) => t.taskId),
      ['probe', 'probe2'],
    );
    await Promise.all([a, b, c].map((p) => stopWorker(p)));
  });

  it('finishes the in-flight tasks of a kill -9ed worker on another worker within 10 s (defaults)', async () => {
    const { client, worker, prefix } = setup('kill9');
    const victim = await worker('victim', ['slow'], {
      concurrency: { min: 4, max: 4 },
      autoscaleIntervalMs: 0,
      expressReserve: 0,
    });
    const tasks = await client.submitMany(
      Array.from({ length: 4 }, () => ({ type: 'slow', payload: { ms: 1500 } })),
    );
    // All four have started on the victim once each recorded its run.
    await waitFor(
      'all four tasks running on the victim',
      async () => (await runCounts(redis, prefix)).size >= 4,
      15_000,
      20,
    );
    expect((await runCounts(redis, prefix)).size).toBe(4);
    // Killed while all four run; the rescuer starts only afterwards, so it can have them only by reclaiming.
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    const rescuer = await worker('rescuer', ['slow'], {
      concurrency: { min: 4, max: 4 },
      autoscaleIntervalMs: 0,
      expressReserve: 0,
    });
    const done = await Promise.all(tasks.map((t) => client.result(t.taskId, { waitMs: 20_000 })));
    const recoveredInMs = Math.max(...done.map((d) => d.finishedAt!)) - killedAt;
    expect(done.every((d) => d.status === 'succeeded')).toBe(true);
    expect(recoveredInMs).toBeLessThan(10_000);
    const ranOn = await redis.hgetall(`${prefix}:test:ranOn`);
    expect(tasks.every((t) => ranOn[t.taskId] === rescuer.consumer)).toBe(true);
    const runs = await runCounts(redis, prefix);
    const duplicates = tasks.reduce((n, t) => n + (runs.get(t.taskId)! - 1), 0);
    // Each in-flight task ran once on the victim (interrupted) and once on the rescuer: at-least-once, counted.
    expect(duplicates).toBe(4);
    process.stderr.write(
      `[kill -9] recovered 4 in-flight tasks in ${recoveredInMs} ms; ${duplicates} duplicate runs\n`,
    );
    await expectBookkeeping(
      client,
      tasks.map((t) => t.taskId),
      ['slow'],
    );
    await stopWorker(rescuer);
  });

  it('dead-letters a task that kills its consumer every time, after the delivery limit', async () => {
    const { client, worker, prefix } = setup('crash');
    const opts = { minIdleMs: 400, janitorIntervalMs: 100, maxDeliveries: 2, autoscaleIntervalMs: 0 };
    const poison = await client.submit({ type: 'crash', payload: {} });
    const ok = await client.submit({ type: 'probe', payload: { n: 1 } });
    // Keep replacing the worker the poison task kills, as a supervisor would.
    let info: TaskInfo | undefined;
    const deadline = Date.now() + 60_000;
    let spawned = 0;
    while (Date.now() < deadline) {
      info = await client.get(poison.taskId);
      if (info?.status === 'dead') break;
      const w = await worker(`crash-${spawned++}`, ['crash', 'probe'], opts);
      await Promise.race([w.exited, client.result(poison.taskId, { waitMs: 5000 }).catch(() => undefined)]);
    }
    expect(info).toMatchObject({ status: 'dead' });
    expect(info!.error).toMatch(/delivered 2 times/);
    const runs = await runCounts(redis, prefix);
    expect(runs.get(poison.taskId)).toBe(2);
    expect((await client.result(ok.taskId, { waitMs: 10_000 })).status).toBe('succeeded');
    const letters = await redis.xrange(`${prefix}:lane:{crash}:standard:dead`, '-', '+');
    expect(letters.map(([, f]) => f[f.indexOf('reason') + 1])).toEqual(['max-deliveries']);
    await expectBookkeeping(client, [poison.taskId, ok.taskId], ['crash', 'probe']);
  });

  it('survives a Redis restart mid-run: the worker resumes and no accepted task is lost', async () => {
    const server = new PrivateRedis(await freePort());
    await server.start();
    try {
      const { client, worker } = setup('restart', server.url);
      const w = await worker(`restart-${randomUUID().slice(0, 4)}`, ['probe', 'slow'], {
        concurrency: { min: 4, max: 4 },
        autoscaleIntervalMs: 0,
        minIdleMs: 1000,
        janitorIntervalMs: 200,
      });
      const before = await client.submitMany([
        ...Array.from({ length: 200 }, (_, n) => ({ type: 'probe', payload: { n } })),
        ...Array.from({ length: 8 }, () => ({ type: 'slow', payload: { ms: 400 } })),
      ]);
      await server.crash();
      await expect(client.submit({ type: 'probe', payload: { n: -1 } })).rejects.toThrow(
        RedisUnavailableError,
      );
      await server.start();
      // The client reconnects by itself; submits succeed again once it has.
      const after: { taskId: string }[] = [];
      const deadline = Date.now() + 15_000;
      while (after.length < 100 && Date.now() < deadline) {
        try {
          after.push(await client.submit({ type: 'probe', payload: { n: 1000 + after.length } }));
        } catch (err) {
          if (!(err instanceof RedisUnavailableError)) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      expect(after).toHaveLength(100);
      const all = [...before, ...after];
      const done = await Promise.all(all.map((t) => client.result(t.taskId, { waitMs: 30_000 })));
      expect(done.filter((d) => d.status !== 'succeeded')).toEqual([]);
      await expectBookkeeping(
        client,
        all.map((t) => t.taskId),
        ['probe', 'slow'],
      );
      expect(await stopWorker(w)).toBe(0);
    } finally {
      await server.destroy();
    }
  });
});

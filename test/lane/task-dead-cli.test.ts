/**
 * `sagalane task dead list|retry|purge` as a user runs it (a spawned CLI process from the sources) against the real
 * Redis: dead letters of `echo` written by a worker that dead-letters a malformed payload, listed, retried (the
 * same task id is queued again) and purged.
 */
import type Redis from 'ioredis';
import { ExpressClient, ExpressWorker, builtinTaskTypes, type DeadLetter } from '../../src/lane';
import { createLogger } from '../../src/logger';
import { runSagalane } from '../front/front-kit';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';

describe('sagalane task dead', () => {
  let redis: Redis;
  const prefix = uniquePrefix('lane-dead-cli');
  const env = {
    ...process.env,
    REDIS_URL: redisUrl(),
    SAGALANE_KEY_PREFIX: prefix,
    SAGALANE_LOG_LEVEL: 'error',
  };
  let client: ExpressClient;

  beforeAll(() => {
    redis = redisClient();
    client = new ExpressClient({ types: builtinTaskTypes, redisUrl: redisUrl(), keyPrefix: prefix });
  });
  afterAll(async () => {
    await client.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('lists, retries and purges dead letters', async () => {
    // A task whose entry carries a payload the echo schema refuses: the worker dead-letters it (invalid-payload).
    const stream = client.keys.stream('echo', 'express');
    const taskId = 'echo:00000000-0000-4000-8000-000000000001';
    await redis.hset(client.keys.task(taskId), 'type', 'echo', 'lane', 'express', 'status', 'queued');
    await redis.xadd(
      stream,
      '*',
      'id',
      taskId,
      'payload',
      '{"message":42}',
      'attempt',
      '1',
      'max',
      '3',
      'timeout',
      '1000',
      'at',
      '1',
    );
    const worker = new ExpressWorker({
      types: builtinTaskTypes,
      redisUrl: redisUrl(),
      keyPrefix: prefix,
      logger: createLogger('error'),
    });
    await worker.start();
    expect((await client.result(taskId, { waitMs: 10_000 })).status).toBe('dead');
    await worker.stop();

    const list = await runSagalane(env, ['task', 'dead', 'list', '--type', 'echo', '--json']);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    const letters = JSON.parse(list.stdout) as (DeadLetter & { lane: string })[];
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ lane: 'express', taskId, reason: 'invalid-payload' });

    const text = await runSagalane(env, ['task', 'dead', 'list', '--type', 'echo']);
    expect(text.stdout).toContain(`${taskId}  invalid-payload`);

    const retry = await runSagalane(env, [
      'task',
      'dead',
      'retry',
      '--type',
      'echo',
      '--lane',
      'express',
      '--id',
      letters[0]!.id,
      '--json',
    ]);
    expect(retry.code).toBe(0);
    expect(JSON.parse(retry.stdout)).toEqual({ retried: [taskId], missing: [] });
    expect(await client.get(taskId)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(await redis.xlen(stream)).toBe(1);
    expect(await client.deadLetters('echo', 'express')).toEqual([]);

    // Dead again (same bad payload), then purged.
    const again = new ExpressWorker({
      types: builtinTaskTypes,
      redisUrl: redisUrl(),
      keyPrefix: prefix,
      logger: createLogger('error'),
    });
    await again.start();
    expect((await client.result(taskId, { waitMs: 10_000 })).status).toBe('dead');
    await again.stop();
    const purge = await runSagalane(env, ['task', 'dead', 'purge', '--type', 'echo', '--json']);
    expect(JSON.parse(purge.stdout)).toEqual({ deleted: 1 });
    expect(await client.deadLetters('echo', 'express')).toEqual([]);
  }, 120_000);
});

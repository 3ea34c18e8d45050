/**
 * The packed stream entry (id, payload, m = "attempt max timeout at"): what SUBMIT, PROMOTE and a hand-back write,
 * and the worker reading both it and the older six-field form alike.
 */
import type Redis from 'ioredis';
import { ExpressClient, ExpressWorker, builtinTaskTypes } from '../../src/lane';
import { packedFields, toFields } from '../../src/lane/entries';
import { LaneKeys } from '../../src/lane/keys';
import { PROMOTE } from '../../src/lane/janitor-scripts';
import { runScript } from '../../src/lane/scripts';
import { createLogger } from '../../src/logger';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';

describe('stream entry format', () => {
  let redis: Redis;
  const prefix = uniquePrefix('entry-format');
  const keys = new LaneKeys(prefix);

  beforeAll(() => {
    redis = redisClient();
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('reads the packed and the six-field form into the same fields; a short m stays incomplete', () => {
    const wide = toFields([
      'id',
      'echo:x',
      'payload',
      '{}',
      'attempt',
      '2',
      'max',
      '3',
      'timeout',
      '1000',
      'at',
      '7',
    ]);
    const packed = toFields(['id', 'echo:x', 'payload', '{}', 'm', '2 3 1000 7']);
    expect(packed).toEqual(wide);
    expect(toFields(['id', 'echo:x', 'payload', '{}', 'm', '2 3 1000 7', 'dlv', '2'])).toEqual({
      ...wide,
      dlv: '2',
    });
    expect(toFields(['id', 'echo:x', 'm', '1 3'])).toEqual({ id: 'echo:x', attempt: '1', max: '3' });
    // A hand-back re-adds the packed form, keeping fields it does not know (dlv).
    expect(packedFields({ ...wide, dlv: '1' })).toEqual([
      'id',
      'echo:x',
      'payload',
      '{}',
      'dlv',
      '1',
      'm',
      '2 3 1000 7',
    ]);
    expect(toFields(packedFields(wide))).toEqual(wide);
  });

  it('SUBMIT and PROMOTE write three fields, and a worker runs packed and six-field entries', async () => {
    const client = new ExpressClient({ types: builtinTaskTypes, redisUrl: redisUrl(), keyPrefix: prefix });
    const worker = new ExpressWorker({
      types: builtinTaskTypes,
      redisUrl: redisUrl(),
      keyPrefix: prefix,
      logger: createLogger('error'),
      autoscaleIntervalMs: 0,
    });
    try {
      const submitted = await client.submit({ type: 'echo', payload: { message: 'packed' }, maxAttempts: 4 });
      const stream = keys.stream('echo', 'express');
      const flat = ((await redis.xrange(stream, '-', '+')) as [string, string[]][])[0]![1];
      expect(flat.filter((_, i) => i % 2 === 0)).toEqual(['id', 'payload', 'm']);
      expect(flat[5]).toMatch(/^1 4 10000 \d+$/);
      // A retry promoted from the delayed set: the packed form too.
      const retryId = 'echo:00000000-0000-0000-0000-00000000000a';
      const member = {
        id: retryId,
        payload: '{"message":"retried"}',
        attempt: '2',
        max: '3',
        timeout: '500',
        at: '5',
      };
      await redis.zadd(keys.delayed('echo', 'express'), 1, JSON.stringify(member));
      await runScript(
        redis,
        PROMOTE,
        [keys.delayed('echo', 'express'), stream, keys.deadLetters('echo', 'express')],
        [Date.now(), 10, 100, keys.taskPrefix('echo')],
      );
      const entries = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
      expect(entries[1]![1]).toEqual(['id', retryId, 'payload', member.payload, 'm', '2 3 500 5']);
      // An entry in the older form, as written before the packed one existed.
      const oldId = 'echo:00000000-0000-0000-0000-00000000000b';
      await redis.xadd(
        stream,
        '*',
        'id',
        oldId,
        'payload',
        '{"message":"old"}',
        'attempt',
        '1',
        'max',
        '3',
        'timeout',
        '1000',
        'at',
        '1',
      );
      await worker.start();
      const [a, b, c] = await Promise.all(
        [submitted.taskId, retryId, oldId].map((id) => client.result(id, { waitMs: 10_000 })),
      );
      expect(a).toMatchObject({ status: 'succeeded', attempts: 1, result: { message: 'packed' } });
      expect(b).toMatchObject({ status: 'succeeded', attempts: 2, result: { message: 'retried' } });
      expect(c).toMatchObject({ status: 'succeeded', attempts: 1, result: { message: 'old' } });
    } finally {
      await worker.stop();
      await client.close();
    }
  });
});

/**
 * The lane's Lua scripts against the real Redis, one scenario each: fencing (a consumer that no longer owns an
 * entry cannot store an outcome or acknowledge it), hand-back keeping the delivery count, retry promotion
 * surviving an undecodable member, the orphan sweep claiming a last-chance entry alone, and the whole sweep of
 * several streams in one call.
 */
import type { Cluster, default as Redis } from 'ioredis';
import { LaneKeys, type Lane } from '../../src/lane/keys';
import { isCluster, openLaneConnection } from '../../src/lane/redis-connections';
import { KEEPALIVE, PROMOTE, RECLAIM, SWEEP } from '../../src/lane/janitor-scripts';
import { COMPLETE, HAND_BACK, RETRY, runScript } from '../../src/lane/scripts';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

const GROUP = 'g';

describe('lane scripts', () => {
  let redis: Redis;
  const prefix = uniquePrefix('lane-scripts');
  const keys = new LaneKeys(prefix);
  let n = 0;

  beforeAll(() => {
    redis = redisClient();
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  /** A fresh stream with one entry read by consumer `a`. */
  async function oneEntryReadBy(consumer: string) {
    const type = `t${n++}`;
    const stream = keys.stream(type, 'standard');
    const taskId = `${type}:00000000-0000-0000-0000-000000000001`;
    await redis.call('XGROUP', 'CREATE', stream, GROUP, '0', 'MKSTREAM');
    const fields = { id: taskId, payload: '{}', attempt: '1', max: '3', timeout: '1000', at: '1' };
    const entryId = (await redis.xadd(stream, '*', ...Object.entries(fields).flat()))!;
    await redis.hset(keys.task(taskId), 'status', 'running', 'attempts', '1');
    await redis.call('XREADGROUP', 'GROUP', GROUP, consumer, 'COUNT', 1, 'STREAMS', stream, '>');
    return { type, stream, taskId, entryId, fields, taskKey: keys.task(taskId) };
  }

  async function owner(stream: string, entryId: string): Promise<[string, number] | undefined> {
    const p = (await redis.call('XPENDING', stream, GROUP, entryId, entryId, 1)) as [
      string,
      string,
      number,
      number,
    ][];
    return p[0] ? [p[0][1], p[0][3]] : undefined;
  }

  it('RETRY by a consumer that lost the entry schedules nothing and acknowledges nothing', async () => {
    const e = await oneEntryReadBy('a');
    await redis.call('XCLAIM', e.stream, GROUP, 'b', 0, e.entryId);
    const delayed = keys.delayed(e.type, 'standard');
    const member = JSON.stringify({
      id: e.taskId,
      payload: '{}',
      attempt: '2',
      max: '3',
      timeout: '1000',
      at: '1',
    });
    const acked = await runScript(
      redis,
      RETRY,
      [e.stream, e.taskKey, delayed],
      [GROUP, e.entryId, 'boom', 1, Date.now(), member, 'a'],
    );
    expect(acked).toBe(0);
    expect(await redis.zcard(delayed)).toBe(0);
    expect((await owner(e.stream, e.entryId))?.[0]).toBe('b');
    expect(await redis.hget(e.taskKey, 'status')).toBe('running');
  });

  it('RETRY of an entry already acknowledged elsewhere schedules nothing', async () => {
    const e = await oneEntryReadBy('a');
    await redis.xack(e.stream, GROUP, e.entryId);
    const delayed = keys.delayed(e.type, 'standard');
    const acked = await runScript(
      redis,
      RETRY,
      [e.stream, e.taskKey, delayed],
      [GROUP, e.entryId, 'boom', 1, Date.now(), '{"id":"x"}', 'a'],
    );
    expect(acked).toBe(0);
    expect(await redis.zcard(delayed)).toBe(0);
  });

  it('COMPLETE by a consumer that lost the entry stores no result and leaves the entry to its owner', async () => {
    const e = await oneEntryReadBy('a');
    await redis.call('XCLAIM', e.stream, GROUP, 'b', 0, e.entryId);
    await runScript(
      redis,
      COMPLETE,
      [e.stream],
      [
        GROUP,
        60,
        keys.completions(e.type),
        'a',
        keys.taskPrefix(e.type),
        e.entryId,
        e.taskId,
        '"late"',
        Date.now(),
        Date.now(),
        1,
      ],
    );
    expect(await redis.hget(e.taskKey, 'status')).toBe('running');
    expect(await redis.hget(e.taskKey, 'result')).toBeNull();
    expect((await owner(e.stream, e.entryId))?.[0]).toBe('b');
    expect(await redis.xlen(e.stream)).toBe(1);
  });

  it('COMPLETE by the owner stores the result and acknowledges', async () => {
    const e = await oneEntryReadBy('a');
    await runScript(
      redis,
      COMPLETE,
      [e.stream],
      [
        GROUP,
        60,
        keys.completions(e.type),
        'a',
        keys.taskPrefix(e.type),
        e.entryId,
        e.taskId,
        '"ok"',
        Date.now(),
        Date.now(),
        1,
      ],
    );
    expect(await redis.hget(e.taskKey, 'status')).toBe('succeeded');
    expect(await owner(e.stream, e.entryId)).toBeUndefined();
    expect(await redis.xlen(e.stream)).toBe(0);
  });

  it('COMPLETE removes acknowledged entries from the stream and never a pending or undelivered one', async () => {
    const type = `t${n++}`;
    const stream = keys.stream(type, 'standard');
    await redis.call('XGROUP', 'CREATE', stream, GROUP, '0', 'MKSTREAM');
    const ids: string[] = [];
    const taskIds: string[] = [];
    for (let i = 0; i < 4; i++) {
      const taskId = `${type}:00000000-0000-0000-0000-00000000000${i}`;
      taskIds.push(taskId);
      ids.push((await redis.xadd(stream, '*', 'id', taskId, 'payload', '{}', 'attempt', '1'))!);
    }
    await redis.call('XREADGROUP', 'GROUP', GROUP, 'a', 'COUNT', 3, 'STREAMS', stream, '>');
    const complete = (which: number[]) =>
      runScript(
        redis,
        COMPLETE,
        [stream],
        [
          GROUP,
          60,
          keys.completions(type),
          'a',
          keys.taskPrefix(type),
          ...which.flatMap((i) => [ids[i]!, taskIds[i]!, '"ok"', Date.now(), Date.now(), 1]),
        ],
      );
    const inStream = async () => (await redis.xrange(stream, '-', '+')).map(([id]) => id);
    // The oldest entry still runs: the two after it are acknowledged and leave (XDEL above the oldest pending).
    expect(await complete([2, 1])).toEqual([]);
    expect(await inStream()).toEqual([ids[0], ids[3]]);
    // Now nothing is pending: the trim stops at the undelivered entry.
    expect(await complete([0])).toEqual([]);
    expect(await inStream()).toEqual([ids[3]]);
    for (const i of [0, 1, 2]) expect(await redis.hget(keys.task(taskIds[i]!), 'status')).toBe('succeeded');
    expect(await redis.hget(keys.task(taskIds[3]!), 'status')).toBeNull();
    // The undelivered entry is still delivered.
    await redis.call('XREADGROUP', 'GROUP', GROUP, 'a', 'STREAMS', stream, '>');
    expect((await owner(stream, ids[3]!))?.[0]).toBe('a');
  });

  it('COMPLETE of a batch stores only the entries this consumer owns, and names the others', async () => {
    const type = `t${n++}`;
    const stream = keys.stream(type, 'standard');
    await redis.call('XGROUP', 'CREATE', stream, GROUP, '0', 'MKSTREAM');
    const ids: string[] = [];
    const taskIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const taskId = `${type}:00000000-0000-0000-0000-00000000001${i}`;
      taskIds.push(taskId);
      ids.push((await redis.xadd(stream, '*', 'id', taskId, 'payload', '{}', 'attempt', '1'))!);
    }
    await redis.call('XREADGROUP', 'GROUP', GROUP, 'a', 'COUNT', 3, 'STREAMS', stream, '>');
    await redis.call('XCLAIM', stream, GROUP, 'b', 0, ids[1]!);
    const fenced = await runScript(
      redis,
      COMPLETE,
      [stream],
      [
        GROUP,
        60,
        keys.completions(type),
        'a',
        keys.taskPrefix(type),
        ...[0, 1, 2].flatMap((i) => [ids[i]!, taskIds[i]!, '"ok"', Date.now(), Date.now(), 1]),
      ],
    );
    expect(fenced).toEqual([ids[1]]);
    expect(await redis.hget(keys.task(taskIds[1]!), 'status')).toBeNull();
    expect((await owner(stream, ids[1]!))?.[0]).toBe('b');
    expect((await redis.xrange(stream, '-', '+')).map(([id]) => id)).toEqual([ids[1]]);
  });

  it('HAND_BACK refuses an entry another consumer owns', async () => {
    const e = await oneEntryReadBy('a');
    await redis.call('XCLAIM', e.stream, GROUP, 'b', 0, e.entryId);
    const r = await runScript(
      redis,
      HAND_BACK,
      [e.stream, e.taskKey],
      [GROUP, 'a', e.entryId, ...Object.entries(e.fields).flat()],
    );
    expect(r).toBe(0);
    expect((await owner(e.stream, e.entryId))?.[0]).toBe('b');
    expect(await redis.xlen(e.stream)).toBe(1);
  });

  it('HAND_BACK carries the delivery count into the re-added entry', async () => {
    const e = await oneEntryReadBy('a');
    // A second delivery (as a reclaim after a crash would make it).
    await redis.call('XCLAIM', e.stream, GROUP, 'a', 0, e.entryId);
    expect((await owner(e.stream, e.entryId))?.[1]).toBe(2);
    const r = await runScript(
      redis,
      HAND_BACK,
      [e.stream, e.taskKey],
      [GROUP, 'a', e.entryId, ...Object.entries(e.fields).flat()],
    );
    expect(r).toBe(1);
    const entries = (await redis.xrange(e.stream, '-', '+')) as [string, string[]][];
    expect(entries).toHaveLength(1);
    const [newId, flat] = entries[0]!;
    expect(newId).not.toBe(e.entryId);
    const f = Object.fromEntries(flat.flatMap((v, i, a) => (i % 2 ? [] : [[v, a[i + 1]]])));
    expect(f.dlv).toBe('2');
    expect(f.id).toBe(e.taskId);
    expect(await redis.hget(e.taskKey, 'status')).toBe('queued');
  });

  it('RECLAIM claims a last-chance entry alone and stops the sweep before it after other claims', async () => {
    const type = `t${n++}`;
    const stream = keys.stream(type, 'standard');
    await redis.call('XGROUP', 'CREATE', stream, GROUP, '0', 'MKSTREAM');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push((await redis.xadd(stream, '*', 'id', `${type}:${i}`, 'payload', '{}'))!);
    // All four read by a consumer that died; ids[1] was reclaimed once more (2 deliveries: its last chance with a
    // limit of 3), ids[3] three times (past the limit: claimed so the caller dead-letters it).
    await redis.call('XREADGROUP', 'GROUP', GROUP, 'dead', 'COUNT', 4, 'STREAMS', stream, '>');
    await redis.call('XCLAIM', stream, GROUP, 'dead', 0, ids[1]!);
    await redis.call('XCLAIM', stream, GROUP, 'dead', 0, ids[3]!);
    await redis.call('XCLAIM', stream, GROUP, 'dead', 0, ids[3]!);
    const sweep = async (cursor: string) =>
      (await runScript(redis, RECLAIM, [stream], [GROUP, 'me', 0, cursor, 10, 200, 3])) as [
        string,
        [string, number, string[]][],
        string[],
      ];
    // First sweep: ids[0] claimed, then it stops before the last-chance ids[1] (the next sweep starts there).
    const [c1, first] = await sweep('0-0');
    expect(first.map(([id]) => id)).toEqual([ids[0]]);
    expect(c1).toBe(ids[0]);
    // Second: ids[1] alone, with its deliveries (this claim included).
    const [c2, second] = await sweep(c1);
    expect(second.map(([id, deliveries]) => [id, deliveries])).toEqual([[ids[1], 3]]);
    expect(c2).toBe(ids[1]);
    // Third: the rest, to the end of the pending list.
    const [c3, third] = await sweep(c2);
    expect(third.map(([id, deliveries]) => [id, deliveries])).toEqual([
      [ids[2], 2],
      [ids[3], 4],
    ]);
    expect(c3).toBe('0-0');
    // A hand-back's earlier deliveries (dlv) count too: one delivery plus dlv 1 is a last chance as well.
    const handedBack = (await redis.xadd(stream, '*', 'id', `${type}:5`, 'payload', '{}', 'dlv', '1'))!;
    await redis.call('XREADGROUP', 'GROUP', GROUP, 'dead', 'COUNT', 1, 'STREAMS', stream, '>');
    const fresh = (await redis.xadd(stream, '*', 'id', `${type}:6`, 'payload', '{}'))!;
    await redis.call('XREADGROUP', 'GROUP', GROUP, 'dead', 'COUNT', 1, 'STREAMS', stream, '>');
    const [, alone] = await sweep(ids[3]!);
    expect(alone.map(([id]) => id)).toEqual([handedBack]);
    const [, after] = await sweep(handedBack);
    expect(after.map(([id]) => id)).toEqual([fresh]);
    // With no free slot nothing is claimed and the walk keeps its place.
    const [kept, none] = (await runScript(
      redis,
      RECLAIM,
      [stream],
      [GROUP, 'me', 0, ids[3]!, 0, 200, 3],
    )) as [string, unknown[]];
    expect(none).toEqual([]);
    expect(kept).toBe(ids[3]);
  });

  it('SWEEP promotes and reclaims several streams in one call, sharing the free slots and the last-chance rule', async () => {
    // Both lanes of one type: one slot, so one SWEEP may name them on a Cluster too.
    const type = `t${n++}`;
    const streams = (['express', 'standard'] as const).map((lane) => ({
      type,
      stream: keys.stream(type, lane),
      delayed: keys.delayed(type, lane),
      dead: keys.deadLetters(type, lane),
    }));
    const [a, b] = streams as [(typeof streams)[0], (typeof streams)[0]];
    for (const s of streams) await redis.call('XGROUP', 'CREATE', s.stream, GROUP, '0', 'MKSTREAM');
    /** An entry a consumer that died read, idle for long, delivered `deliveries` times. */
    const orphan = async (stream: string, id: string, deliveries: number) => {
      const entryId = (await redis.xadd(stream, '*', 'id', id, 'payload', '{}'))!;
      // Everything new in the stream is read (a promoted retry too, but only this entry is made old).
      await redis.call('XREADGROUP', 'GROUP', GROUP, 'dead', 'COUNT', 100, 'STREAMS', stream, '>');
      await redis.call(
        'XCLAIM',
        stream,
        GROUP,
        'dead',
        0,
        entryId,
        'IDLE',
        100_000,
        'RETRYCOUNT',
        deliveries,
        'JUSTID',
      );
      return entryId;
    };
    const orphanA = await orphan(a.stream, `${type}:1`, 1);
    const lastChanceB = await orphan(b.stream, `${type}:2`, 2);
    const orphanB = await orphan(b.stream, `${type}:3`, 1);
    // A retry due in stream a.
    await redis.zadd(
      a.delayed,
      1,
      JSON.stringify({ id: `${type}:9`, payload: '{}', attempt: 2, max: 3, timeout: 1000, at: 1 }),
    );
    type Reply = [number, string, [string, number, string[]][], string[]];
    // minIdleMs 10 s: only the orphans above qualify, never an entry this consumer has just claimed.
    const sweep = async (free: number, cursors: string[]) =>
      (await runScript(
        redis,
        SWEEP,
        streams.flatMap((s) => [s.delayed, s.stream, s.dead]),
        [
          Date.now(),
          500,
          100,
          GROUP,
          'me',
          10_000,
          free,
          200,
          3,
          3600,
          ...streams.flatMap((s, i) => [keys.taskPrefix(s.type), cursors[i]!, keys.completions(s.type)]),
        ],
      )) as Reply[];
    const claims = (r: Reply) => r[2].map(([id, deliveries]) => [id, deliveries]);

    // One free slot: a's orphan takes it (and a's retry is promoted); b claims nothing and keeps its place.
    const one = await sweep(1, ['0-0', '0-0']);
    expect(one[0]![0]).toBe(1);
    expect(claims(one[0]!)).toEqual([[orphanA, 2]]);
    expect(await redis.zcard(a.delayed)).toBe(0);
    expect(claims(one[1]!)).toEqual([]);
    expect(one[1]![1]).toBe('0-0');
    // Room for all, nothing left in a: b's last-chance entry is claimed alone and ends the claims (its orphan waits).
    const two = await sweep(
      10,
      one.map((r) => r[1]),
    );
    expect(claims(two[0]!)).toEqual([]);
    expect(claims(two[1]!)).toEqual([[lastChanceB, 3]]);
    // Next: the rest of b.
    const three = await sweep(
      10,
      two.map((r) => r[1]),
    );
    expect(claims(three[1]!)).toEqual([[orphanB, 2]]);
    // A last-chance entry met after a claim in an earlier stream of the same sweep is left for the next sweep.
    const orphanA2 = await orphan(a.stream, `${type}:4`, 1);
    const lastChanceB2 = await orphan(b.stream, `${type}:5`, 2);
    const four = await sweep(10, ['0-0', '0-0']);
    expect(claims(four[0]!)).toEqual([[orphanA2, 2]]);
    expect(claims(four[1]!)).toEqual([]);
    const five = await sweep(
      10,
      four.map((r) => r[1]),
    );
    expect(claims(five[1]!)).toEqual([[lastChanceB2, 3]]);
  });

  it('PROMOTE skips an undecodable member (dead-lettering it) and still promotes the good ones', async () => {
    const type = `t${n++}`;
    const stream = keys.stream(type, 'standard');
    const delayed = keys.delayed(type, 'standard');
    const dead = keys.deadLetters(type, 'standard');
    const taskId = `${type}:00000000-0000-0000-0000-000000000002`;
    await redis.zadd(
      delayed,
      1,
      'not json {',
      2,
      JSON.stringify({ id: taskId, payload: '{}', attempt: '2', max: '3', timeout: '1000', at: '1' }),
    );
    const promoted = await runScript(
      redis,
      PROMOTE,
      [delayed, stream, dead],
      [Date.now(), 100, 1000, keys.taskPrefix(type)],
    );
    expect(promoted).toBe(1);
    expect(await redis.zcard(delayed)).toBe(0);
    const entries = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
    expect(entries.map(([, f]) => f[f.indexOf('id') + 1])).toEqual([taskId]);
    const deadEntries = (await redis.xrange(dead, '-', '+')) as [string, string[]][];
    expect(deadEntries).toHaveLength(1);
    expect(deadEntries[0]![1]).toEqual(expect.arrayContaining(['reason', 'malformed-retry']));
  });

  it('PROMOTE dead-letters members with a null, object or boolean payload or no whole-number fields, and never raises', async () => {
    const type = `t${n++}`;
    const stream = keys.stream(type, 'standard');
    const delayed = keys.delayed(type, 'standard');
    const dead = keys.deadLetters(type, 'standard');
    const id = (k: number) => `${type}:00000000-0000-0000-0000-00000000000${k}`;
    const member = (k: number, over: Record<string, unknown>) =>
      JSON.stringify({ id: id(k), payload: '{}', attempt: '2', max: '3', timeout: '1000', at: '1', ...over });
    const bad = [
      member(1, { payload: null }),
      member(2, { payload: { a: 1 } }),
      member(3, { payload: true }),
      member(4, { attempt: null }),
      member(5, { timeout: 'soon' }),
      member(6, { id: '' }),
      'null',
      '[1,2]',
      '"text"',
    ];
    await redis.hset(keys.task(id(1)), 'status', 'queued', 'attempts', '1');
    const good = member(7, {});
    await redis.zadd(delayed, ...bad.flatMap((m, i) => [i + 1, m]), 50, good);
    // A subscriber as the client opens one: on a Cluster, one connection per shard for SSUBSCRIBE.
    const listener = openLaneConnection(redisUrl(), 'subscriber', { lazyConnect: false }) as Redis;
    const published: string[] = [];
    // On a Cluster the scripts SPUBLISH (sharded pub/sub): the message arrives as `smessage`.
    const cluster = isCluster(listener);
    listener.on(cluster ? 'smessage' : 'message', (_channel: string, message: string) =>
      published.push(message),
    );
    await (cluster
      ? (listener as unknown as Cluster).ssubscribe(keys.completions(type))
      : listener.subscribe(keys.completions(type)));
    const promoted = await runScript(
      redis,
      PROMOTE,
      [delayed, stream, dead],
      [Date.now(), 100, 1000, keys.taskPrefix(type), 3600, keys.completions(type)],
    );
    expect(promoted).toBe(1);
    expect(await redis.zcard(delayed)).toBe(0);
    const entries = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
    expect(entries.map(([, f]) => f[f.indexOf('id') + 1])).toEqual([id(7)]);
    expect(entries[0]![1][entries[0]![1].indexOf('m') + 1]).toBe('2 3 1000 1');
    const deadEntries = (await redis.xrange(dead, '-', '+')) as [string, string[]][];
    expect(deadEntries).toHaveLength(bad.length);
    for (const [, f] of deadEntries) {
      expect(f[f.indexOf('reason') + 1]).toBe('malformed-retry');
      expect(f[f.indexOf('error') + 1]).toMatch(/^delayed retry member /);
    }
    // The task the first bad member names ends dead with the reason, not queued for ever.
    expect(await redis.hmget(keys.task(id(1)), 'status', 'error')).toEqual([
      'dead',
      'delayed retry member has no string payload',
    ]);
    // ...expires like any ended task, and its waiters hear of it.
    const ttl = await redis.ttl(keys.task(id(1)));
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
    await waitFor('the dead task published', () => published.includes(id(1)), 5000, 20);
    listener.disconnect();
  });

  it("SWEEP goes on past a stream whose keys are broken, and reports that stream's error", async () => {
    // Both streams of one type (one slot on a Cluster): its express lane's keys are broken, its standard one is fine.
    const type = `t${n++}`;
    const broken = 'express' as const;
    const healthy = 'standard' as const;
    const sweepKeys = (lane: Lane) => [
      keys.delayed(type, lane),
      keys.stream(type, lane),
      keys.deadLetters(type, lane),
    ];
    for (const lane of [broken, healthy])
      await redis.call('XGROUP', 'CREATE', keys.stream(type, lane), GROUP, '0', 'MKSTREAM');
    // The broken type's delayed zset is a string: ZRANGEBYSCORE raises WRONGTYPE.
    await redis.set(keys.delayed(type, broken), 'not a zset');
    await redis.zadd(
      keys.delayed(type, healthy),
      1,
      JSON.stringify({ id: `${type}:1`, payload: '{}', attempt: '2', max: '3', timeout: '1000', at: '1' }),
    );
    // An orphan in the healthy stream, behind the broken one in the same call.
    const orphanId = (await redis.xadd(keys.stream(type, healthy), '*', 'id', `${type}:2`, 'payload', '{}'))!;
    await redis.call(
      'XREADGROUP',
      'GROUP',
      GROUP,
      'dead',
      'COUNT',
      10,
      'STREAMS',
      keys.stream(type, healthy),
      '>',
    );
    await redis.call(
      'XCLAIM',
      keys.stream(type, healthy),
      GROUP,
      'dead',
      0,
      orphanId,
      'IDLE',
      100_000,
      'JUSTID',
    );
    const reply = (await runScript(
      redis,
      SWEEP,
      [...sweepKeys(broken), ...sweepKeys(healthy)],
      [
        Date.now(),
        500,
        100,
        GROUP,
        'me',
        10_000,
        10,
        200,
        3,
        3600,
        keys.taskPrefix(type),
        '0-0',
        keys.completions(type),
        keys.taskPrefix(type),
        '0-0',
        keys.completions(type),
      ],
    )) as [number, string, [string, number, string[]][], string[], number, string, string][];
    expect(reply[0]![0]).toBe(0);
    expect(reply[0]![5]).toMatch(/WRONGTYPE/);
    expect(reply[0]![6]).toBe('');
    expect(reply[1]![0]).toBe(1);
    expect(reply[1]![2].map(([id]) => id)).toEqual([orphanId]);
    expect(reply[1]!.slice(5)).toEqual(['', '']);
  });

  it('KEEPALIVE refreshes only entries still owned, and names the lost and the deleted ones', async () => {
    const e = await oneEntryReadBy('a');
    const stream = e.stream;
    const second = (await redis.xadd(stream, '*', 'id', 'x', 'payload', '{}'))!;
    const third = (await redis.xadd(stream, '*', 'id', 'y', 'payload', '{}'))!;
    await redis.call('XREADGROUP', 'GROUP', GROUP, 'a', 'COUNT', 2, 'STREAMS', stream, '>');
    await redis.call('XCLAIM', stream, GROUP, 'b', 0, second);
    await redis.xdel(stream, third);
    const reply = (await runScript(redis, KEEPALIVE, [stream], [GROUP, 'a', e.entryId, second, third])) as [
      string[],
      string[],
    ];
    expect(reply).toEqual([[second], [third]]);
    expect((await owner(stream, e.entryId))?.[0]).toBe('a');
    expect((await owner(stream, second))?.[0]).toBe('b');
  });

  it('KEEPALIVE refreshes every owned entry, not only the first', async () => {
    const e = await oneEntryReadBy('a');
    const more = [];
    for (let i = 0; i < 3; i++) more.push((await redis.xadd(e.stream, '*', 'id', `x${i}`, 'payload', '{}'))!);
    await redis.call('XREADGROUP', 'GROUP', GROUP, 'a', 'COUNT', 3, 'STREAMS', e.stream, '>');
    await new Promise((r) => setTimeout(r, 300));
    await runScript(redis, KEEPALIVE, [e.stream], [GROUP, 'a', e.entryId, ...more]);
    const idle = (await redis.call('XPENDING', e.stream, GROUP, '-', '+', 10)) as [string, string, number][];
    expect(idle.map((p) => p[2] < 200)).toEqual([true, true, true, true]);
  });
});

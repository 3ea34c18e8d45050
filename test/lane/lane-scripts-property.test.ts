/**
 * A property test of the lane's scripts against the real Redis (and, under `npm run test:cluster`, the Cluster):
 * fast-check writes random histories of normal work (submits, deliveries, completions, failed attempts, consumers
 * that die holding entries, janitor sweeps that reclaim and promote) interleaved with entries no worker wrote
 * (undecodable retry members, stream entries with missing or garbled fields). A driver plays the workers the way
 * the worker does (toFields, the same refusals, RETRY / DEAD_LETTER / COMPLETE with its own consumer name), and
 * after a drain the history must leave:
 * - every submitted task ended exactly once (succeeded or dead, announced once on its completion channel);
 * - nothing lost: no entry left in a stream, pending, or waiting for a retry; every bad retry member dead-lettered;
 * - no script raised, and no sweep reported a promote or reclaim error;
 * - delivery counts grown only by real deliveries: each claim reports the deliveries the driver made plus one.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Cluster, default as Redis } from 'ioredis';
import { LaneKeys, type Lane } from '../../src/lane/keys';
import { DEAD_REASONS, toFields } from '../../src/lane/entries';
import { isCluster, openLaneConnection } from '../../src/lane/redis-connections';
import { SWEEP } from '../../src/lane/janitor-scripts';
import { COMPLETE, DEAD_LETTER, RETRY, runScript, START, SUBMIT } from '../../src/lane/scripts';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

const GROUP = 'g';
const LANES: Lane[] = ['express', 'standard'];
const MAX_DELIVERIES = 3;
const TTL_SEC = 3600;
const CONSUMERS = ['c0', 'c1', 'c2'] as const;

type Op =
  | { kind: 'submit'; lane: number; count: number; maxAttempts: number }
  | { kind: 'deliver'; consumer: number; lane: number; count: number }
  | { kind: 'complete'; consumer: number; pick: number }
  | { kind: 'fail'; consumer: number; pick: number }
  | { kind: 'kill'; consumer: number }
  | { kind: 'sweep'; consumer: number; free: number }
  | { kind: 'badRetry'; lane: number; member: string }
  | { kind: 'badEntry'; lane: number; fields: [string, string][] };

/** Retry members RETRY never writes: at least one field missing or of the wrong kind, or not a JSON object. */
const badRetryMember = fc.oneof(
  fc.string({ maxLength: 30 }).filter((s) => !s.trimStart().startsWith('{')),
  fc.constantFrom('null', '[]', '{}', 'true', '"text"', '{"id":'),
  fc
    .record({
      id: fc.oneof(
        fc.constant(''),
        fc.integer(),
        fc.constant(null),
        fc.string({ minLength: 1, maxLength: 8 }),
      ),
      payload: fc.oneof(
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        fc.dictionary(fc.string(), fc.string()),
      ),
      attempt: fc.oneof(fc.constant('2'), fc.constant(-1), fc.constant(1.5), fc.constant('x')),
      max: fc.oneof(fc.constant('3'), fc.constant(null)),
      timeout: fc.oneof(fc.constant('1000'), fc.constant('soon')),
      at: fc.constant('1'),
    })
    // The payload is never a string, so every one of these is refused whatever the other fields are.
    .map((m) => JSON.stringify(m)),
);

/** Stream entries no submit wrote: ids of no task of the type, payloads that are not JSON, `m` short or garbled. */
const badEntryFields = fc.array(
  fc.tuple(
    fc.constantFrom('id', 'payload', 'm', 'dlv', 'x'),
    fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('1 3 1000', 'a b c d', '{', 'null')),
  ),
  { minLength: 1, maxLength: 5 },
);

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      lane: fc.nat(1),
      count: fc.integer({ min: 1, max: 4 }),
      maxAttempts: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('deliver' as const),
      consumer: fc.nat(2),
      lane: fc.nat(1),
      count: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('complete' as const), consumer: fc.nat(2), pick: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('fail' as const), consumer: fc.nat(2), pick: fc.nat() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kill' as const), consumer: fc.nat(2) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('sweep' as const),
      consumer: fc.nat(2),
      free: fc.integer({ min: 0, max: 6 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('badRetry' as const), lane: fc.nat(1), member: badRetryMember }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('badEntry' as const), lane: fc.nat(1), fields: badEntryFields }),
  },
);

/** An entry a consumer believes it holds (it may have been reclaimed since: then its writes are fenced). */
interface Held {
  lane: Lane;
  id: string;
  taskId: string;
  attempt: number;
  max: number;
  fields: Record<string, string>;
}

describe('lane scripts under random and malformed histories (fast-check)', () => {
  let redis: Redis;
  const prefix = uniquePrefix('lane-prop');
  const keys = new LaneKeys(prefix);
  let run = 0;
  /** Each history's subscriber (a failing history leaves its own open: closed at the end). */
  const listeners: Redis[] = [];

  beforeAll(() => {
    redis = redisClient();
  });
  afterAll(async () => {
    for (const l of listeners) l.disconnect();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  /** One history on a type of its own; throws (failing the property) when an invariant breaks. */
  async function history(ops: Op[]): Promise<void> {
    const type = `p${run++}`;
    const stream = (lane: Lane) => keys.stream(type, lane);
    for (const lane of LANES) await redis.call('XGROUP', 'CREATE', stream(lane), GROUP, '0', 'MKSTREAM');
    const channel = keys.completions(type);
    // A subscriber as the client opens one: on a Cluster, one connection per shard for SSUBSCRIBE.
    const listener = openLaneConnection(redisUrl(), 'subscriber', { lazyConnect: false }) as Redis;
    listeners.push(listener);
    const announced = new Map<string, number>();
    const sentinel = `sentinel-${randomUUID()}`;
    let sawSentinel = false;
    const onMessage = (_c: string, message: string) => {
      for (const id of message.split(',')) {
        if (id === sentinel) sawSentinel = true;
        else announced.set(id, (announced.get(id) ?? 0) + 1);
      }
    };
    const cluster = isCluster(listener);
    listener.on(cluster ? 'smessage' : 'message', onMessage);
    await (cluster ? (listener as unknown as Cluster).ssubscribe(channel) : listener.subscribe(channel));

    const submitted = new Set<string>();
    /** Deliveries the driver made of each entry (by `at`): XREADGROUP's first, then each claim. */
    const deliveries = new Map<string, number>();
    /** Who Redis says holds an entry, as far as the driver's own reads and claims tell. */
    const owner = new Map<string, string>();
    // Two streams can hand out the same entry id: an entry is its lane and its id.
    const at = (lane: Lane, id: string) => `${lane}/${id}`;
    const held = new Map<string, Held[]>([...CONSUMERS, 'drain'].map((c) => [c, []]));
    const cursors = new Map<string, string[]>();
    let badRetries = 0;

    const deadLetter = async (
      c: string,
      lane: Lane,
      id: string,
      taskId: string,
      reason: string,
      attempt: number,
      payload: string,
    ) => {
      const known = taskId.startsWith(`${type}:`) ? taskId : '';
      const ks = [stream(lane), keys.deadLetters(type, lane), ...(known ? [keys.task(known)] : [])];
      const r = await runScript(redis, DEAD_LETTER, ks, [
        GROUP,
        id,
        known,
        reason,
        `driver: ${reason}`,
        attempt,
        payload,
        Date.now(),
        TTL_SEC,
        channel,
        c,
        1000,
      ]);
      expect(r).toBe(owner.get(at(lane, id)) === c ? 1 : 0);
    };

    /** What the worker does with an entry it was handed: refuse what it cannot run, hold the rest. */
    const take = async (c: string, lane: Lane, id: string, flat: string[]) => {
      const f = toFields(flat);
      const attempt = Number(f.attempt);
      const max = Number(f.max);
      const valid =
        typeof f.id === 'string' &&
        submitted.has(f.id) &&
        Number.isInteger(attempt) &&
        Number.isInteger(max) &&
        Number(f.timeout) > 0 &&
        (() => {
          try {
            JSON.parse(f.payload ?? '');
            return true;
          } catch {
            return false;
          }
        })();
      const runs = deliveries.get(at(lane, id))! - 1 + (Number(f.dlv) > 0 ? Number(f.dlv) : 0);
      if (!valid) return deadLetter(c, lane, id, f.id ?? '', DEAD_REASONS.malformed, 0, f.payload ?? '');
      if (runs >= MAX_DELIVERIES)
        return deadLetter(c, lane, id, f.id!, DEAD_REASONS.deliveries, attempt, f.payload!);
      await runScript(redis, START, [keys.task(f.id!)], [Date.now(), attempt]);
      // A consumer's sweep may claim an entry it holds already (min idle 0): it holds it once.
      held.set(
        c,
        held.get(c)!.filter((h) => at(h.lane, h.id) !== at(lane, id)),
      );
      held.get(c)!.push({ lane, id, taskId: f.id!, attempt, max, fields: f });
    };

    const pick = (c: string, n: number): Held | undefined => {
      const list = held.get(c)!;
      if (!list.length) return undefined;
      return list.splice(n % list.length, 1)[0];
    };

    const complete = async (c: string, h: Held) => {
      const fenced = (await runScript(
        redis,
        COMPLETE,
        [stream(h.lane)],
        [
          GROUP,
          TTL_SEC,
          channel,
          c,
          keys.taskPrefix(type),
          h.id,
          h.taskId,
          JSON.stringify({ by: c }),
          Date.now(),
          Date.now(),
          h.attempt,
        ],
      )) as string[];
      expect(fenced).toEqual(owner.get(at(h.lane, h.id)) === c ? [] : [h.id]);
      if (owner.get(at(h.lane, h.id)) === c) owner.delete(at(h.lane, h.id));
    };

    const fail = async (c: string, h: Held) => {
      if (h.attempt >= h.max) {
        await deadLetter(c, h.lane, h.id, h.taskId, DEAD_REASONS.attempts, h.attempt, h.fields.payload!);
        if (owner.get(at(h.lane, h.id)) === c) owner.delete(at(h.lane, h.id));
        return;
      }
      const member = JSON.stringify({
        id: h.taskId,
        payload: h.fields.payload,
        attempt: String(h.attempt + 1),
        max: String(h.max),
        timeout: h.fields.timeout,
        at: h.fields.at,
      });
      const r = await runScript(
        redis,
        RETRY,
        [stream(h.lane), keys.task(h.taskId), keys.delayed(type, h.lane)],
        [GROUP, h.id, 'driver: failed', h.attempt, Date.now() - 1, member, c],
      );
      expect(r).toBe(owner.get(at(h.lane, h.id)) === c ? 1 : 0);
      if (owner.get(at(h.lane, h.id)) === c) owner.delete(at(h.lane, h.id));
    };

    const deliver = async (c: string, lane: Lane, count: number) => {
      const reply = (await redis.xreadgroup(
        'GROUP',
        GROUP,
        c,
        'COUNT',
        count,
        'STREAMS',
        stream(lane),
        '>',
      )) as [string, [string, string[]][]][] | null;
      for (const [id, flat] of reply?.[0]?.[1] ?? []) {
        deliveries.set(at(lane, id), 1);
        owner.set(at(lane, id), c);
        await take(c, lane, id, flat);
      }
    };

    const sweep = async (c: string, free: number) => {
      const mine = cursors.get(c) ?? LANES.map(() => '0-0');
      const reply = (await runScript(
        redis,
        SWEEP,
        LANES.flatMap((l) => [keys.delayed(type, l), stream(l), keys.deadLetters(type, l)]),
        [
          Date.now(),
          500,
          1000,
          GROUP,
          c,
          0,
          free,
          200,
          MAX_DELIVERIES,
          TTL_SEC,
          ...LANES.flatMap((l, i) => [keys.taskPrefix(type), mine[i]!, channel]),
        ],
      )) as [number, string, [string, number, string[]][], string[], number, string, string][];
      cursors.set(
        c,
        reply.map((r) => r[1]),
      );
      for (const [i, [, , claimed, missing, , promoteError, reclaimError]] of reply.entries()) {
        expect({ promoteError, reclaimError, missing }).toEqual({
          promoteError: '',
          reclaimError: '',
          missing: [],
        });
        for (const [id, count, flat] of claimed) {
          // A claim is one delivery more than the driver made, never a count that grew by itself.
          expect({ id, deliveries: count }).toEqual({
            id,
            deliveries: deliveries.get(at(LANES[i]!, id))! + 1,
          });
          deliveries.set(at(LANES[i]!, id), count);
          owner.set(at(LANES[i]!, id), c);
          await take(c, LANES[i]!, id, flat);
        }
      }
    };

    for (const o of ops) {
      const c = 'consumer' in o ? CONSUMERS[o.consumer]! : '';
      switch (o.kind) {
        case 'submit': {
          const lane = LANES[o.lane]!;
          const args: (string | number)[] = [
            100_000,
            type,
            lane,
            Date.now(),
            keys.taskPrefix(type),
            TTL_SEC,
            2 ** 30,
            100_000,
          ];
          const ids = Array.from({ length: o.count }, () => `${type}:${randomUUID()}`);
          for (const id of ids)
            args.push(id, JSON.stringify({ n: id.slice(-4) }), o.maxAttempts, 30_000, '0');
          expect(await runScript(redis, SUBMIT, [stream(lane)], args)).toEqual(ids.map(() => 1));
          for (const id of ids) submitted.add(id);
          break;
        }
        case 'deliver':
          await deliver(c, LANES[o.lane]!, o.count);
          break;
        case 'complete': {
          const h = pick(c, o.pick);
          if (h) await complete(c, h);
          break;
        }
        case 'fail': {
          const h = pick(c, o.pick);
          if (h) await fail(c, h);
          break;
        }
        case 'kill':
          // The process dies: what it held stays pending in Redis under its name until a sweep claims it.
          held.set(c, []);
          break;
        case 'sweep':
          await sweep(c, o.free);
          break;
        case 'badRetry':
          // Counted when new: a member already waiting in the zset is one member.
          badRetries += Number(
            await redis.zadd(keys.delayed(type, LANES[o.lane]!), Date.now() - 1, o.member),
          );
          break;
        case 'badEntry':
          await redis.xadd(stream(LANES[o.lane]!), '*', ...o.fields.flat());
          break;
      }
    }

    // Drain: one healthy consumer sweeps, reads and completes until nothing is left anywhere.
    const left = async () => {
      let n = 0;
      for (const l of LANES) {
        n += await redis.xlen(stream(l));
        n += await redis.zcard(keys.delayed(type, l));
      }
      return n;
    };
    for (let round = 0; (await left()) > 0; round++) {
      expect(round).toBeLessThan(40);
      await sweep('drain', 1000);
      for (const l of LANES) await deliver('drain', l, 1000);
      for (let h = pick('drain', 0); h; h = pick('drain', 0)) await complete('drain', h);
    }

    // Every submitted task ended exactly once.
    for (const id of submitted) {
      const status = await redis.hget(keys.task(id), 'status');
      expect({ id, status }).toEqual({ id, status: expect.stringMatching(/^(succeeded|dead)$/) });
    }
    // Messages on one channel arrive in the order the server ran them: the sentinel comes after every announcement.
    if (cluster)
      await (redis as unknown as { spublish(c: string, m: string): Promise<number> }).spublish(
        channel,
        sentinel,
      );
    else await redis.publish(channel, sentinel);
    await waitFor('the sentinel behind every announcement', () => sawSentinel, 10_000, 10);
    for (const id of submitted)
      expect({ id, announced: announced.get(id) ?? 0 }).toEqual({ id, announced: 1 });
    // Every bad retry member is in a dead-letter stream with its reason, and nothing is pending.
    let malformedRetries = 0;
    for (const l of LANES) {
      const letters = (await redis.xrange(keys.deadLetters(type, l), '-', '+')) as [string, string[]][];
      malformedRetries += letters.filter(([, f]) => f[f.indexOf('reason') + 1] === 'malformed-retry').length;
      const summary = (await redis.xpending(stream(l), GROUP)) as [number, ...unknown[]];
      expect(summary[0]).toBe(0);
    }
    expect(malformedRetries).toBe(badRetries);
    listeners.splice(listeners.indexOf(listener), 1);
    listener.disconnect();
  }

  it('every task ends exactly once, nothing is lost, no script raises and delivery counts grow only by deliveries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 60 }), (ops) => history(ops)),
      { numRuns: 150 },
    );
  }, 120_000);
});

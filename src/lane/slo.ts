/**
 * Latency objectives per task type and lane (`sloMs`) and their attainment: the share of tasks of the last minute
 * whose time from enqueue to stored outcome was within the objective.
 *
 * What is measured is what a submitter waits for: from the run's stream entry (the submit; for a retry, its promotion
 * after the backoff) to its outcome stored in Redis (wait + run + write). A task dead-lettered counts as a miss: its
 * submitter got no result. Retries in between are not outcomes and are not counted.
 *
 * Cheap by design: per type and lane a ring of 12 five-second buckets of two counters (met, total), so the window
 * slides in 5 s steps and nothing grows with the task rate. A worker publishes its counters to Redis every few
 * seconds (one HSET per type with an objective, `publishSlo`), never per task, so `lane stats` in another process
 * can sum them over the fleet.
 */
import type { Lane } from './keys';
import { LANES } from './keys';
import { LaneOptionsError } from './errors';
import type { RedisClient } from './redis-connections';
import { MINUTE_MS, MinuteRing } from './minute-ring';

/** Objective per lane, ms from enqueue to outcome; a lane left out has none. */
export type LaneSlo = Partial<Record<Lane, number>>;

/** The attainment below which the autoscaler adds slots and `LaneSloAttainmentLow` alerts. */
export const SLO_ATTAINMENT_TARGET = 0.95;
export const SLO_WINDOW_MS = MINUTE_MS;

/** Refuses anything but `{ express?, standard? }` of positive integer ms (at most `maxMs`). */
export function validateSlo(where: string, slo: unknown, maxMs: number): void {
  if (slo === undefined) return;
  if (typeof slo !== 'object' || slo === null || Array.isArray(slo))
    throw new LaneOptionsError(`${where} must be an object { express?: ms, standard?: ms }`);
  for (const [lane, ms] of Object.entries(slo)) {
    if (!(LANES as readonly string[]).includes(lane))
      throw new LaneOptionsError(`${where} has an unknown lane "${lane}" (lanes: ${LANES.join(', ')})`);
    if (ms !== undefined && (!Number.isInteger(ms) || (ms as number) < 1 || (ms as number) > maxMs))
      throw new LaneOptionsError(`${where}.${lane} must be an integer in 1..${maxMs} ms (got ${String(ms)})`);
  }
}

/** Met and total outcomes of one type and lane over the last minute, in 5 s buckets. */
export class AttainmentWindow {
  private readonly ring = new MinuteRing(() => ({ met: 0, total: 0 }));

  record(withinObjective: boolean, now = Date.now()): void {
    const slot = this.ring.current(now);
    slot.total += 1;
    if (withinObjective) slot.met += 1;
  }

  /** Sums over the buckets of the last minute (the current one included). */
  read(now = Date.now()): { met: number; total: number } {
    let met = 0;
    let total = 0;
    for (const slot of this.ring.live(now)) {
      met += slot.met;
      total += slot.total;
    }
    return { met, total };
  }
}

export interface SloReading {
  type: string;
  lane: Lane;
  objectiveMs: number;
  /** Outcomes within the objective, and all outcomes, over the last minute. */
  met: number;
  total: number;
}

/** Attainment of a reading: met / total, undefined when nothing finished in the window. */
export const attainmentOf = (r: { met: number; total: number }): number | undefined =>
  r.total > 0 ? r.met / r.total : undefined;

/** One worker's objectives (a type's `defaults.sloMs` per lane, else the worker's `sloMs`) and windows. */
export class SloTracker {
  private readonly windows = new Map<string, { type: string; lane: Lane; ms: number; w: AttainmentWindow }>();

  constructor(types: readonly { name: string; defaults: { sloMs?: LaneSlo } }[], workerSlo: LaneSlo = {}) {
    for (const t of types)
      for (const lane of LANES) {
        const ms = t.defaults.sloMs?.[lane] ?? workerSlo[lane];
        if (ms) this.windows.set(key(t.name, lane), { type: t.name, lane, ms, w: new AttainmentWindow() });
      }
  }

  /** Whether any type has an objective (nothing to measure or publish otherwise). */
  get active(): boolean {
    return this.windows.size > 0;
  }

  /** One outcome: `elapsedMs` from enqueue to outcome, or undefined for a dead-lettered task (a miss). */
  record(type: string, lane: Lane, elapsedMs: number | undefined, now = Date.now()): void {
    const s = this.windows.get(key(type, lane));
    if (s) s.w.record(elapsedMs !== undefined && elapsedMs <= s.ms, now);
  }

  readings(now = Date.now()): SloReading[] {
    return [...this.windows.values()].map((s) => ({
      type: s.type,
      lane: s.lane,
      objectiveMs: s.ms,
      ...s.w.read(now),
    }));
  }

  /** Per lane, the lowest attainment of its types over the last minute (undefined: no objective, or no outcome). */
  worstAttainment(now = Date.now()): Record<Lane, number | undefined> {
    const out: Record<Lane, number | undefined> = { express: undefined, standard: undefined };
    for (const r of this.readings(now)) {
      const a = attainmentOf(r);
      if (a !== undefined) out[r.lane] = Math.min(out[r.lane] ?? 1, a);
    }
    return out;
  }
}

const key = (type: string, lane: Lane) => `${type}\u0000${lane}`;

/** What one worker publishes per type: its readings of that type, when, and how often it publishes. */
interface PublishedSlo {
  at: number;
  everyMs: number;
  lanes: Partial<Record<Lane, { objectiveMs: number; met: number; total: number }>>;
}

/** A field of a departed consumer is removed once it is this old (the key itself expires when no worker writes). */
const STALE_FIELD_MS = 10 * 60_000;

/**
 * Writes this worker's readings, one HSET (field: consumer name) per type with an objective, in one pipeline.
 * `keyOf(type)` is the type's SLO hash (LaneKeys.sloAttainment). With `prune` (the caller sets it now and then) the
 * fields of departed consumers, older than 10 min, are dropped too, so the hash stays as small as the fleet.
 */
export async function publishSlo(
  redis: RedisClient,
  keyOf: (type: string) => string,
  consumer: string,
  readings: SloReading[],
  everyMs: number,
  prune = false,
  now = Date.now(),
): Promise<void> {
  const byType = new Map<string, PublishedSlo>();
  for (const r of readings) {
    const p = byType.get(r.type) ?? { at: now, everyMs, lanes: {} };
    p.lanes[r.lane] = { objectiveMs: r.objectiveMs, met: r.met, total: r.total };
    byType.set(r.type, p);
  }
  await publishPerType(redis, keyOf, consumer, byType, prune, now);
}

/**
 * The publication pattern of a worker's per-type figures (SLO attainment here, the board's task window in
 * task-window.ts): per type one HSET of `{ at, everyMs, … }` under the consumer's name and a PEXPIRE, all in one
 * pipeline; with `prune`, fields older than 10 min (departed consumers) are dropped, so a hash stays as small as the
 * fleet, and a key nobody writes expires.
 */
export async function publishPerType(
  redis: RedisClient,
  keyOf: (type: string) => string,
  consumer: string,
  byType: ReadonlyMap<string, { at: number; everyMs: number }>,
  prune = false,
  now = Date.now(),
): Promise<void> {
  if (byType.size === 0) return;
  const pipe = redis.pipeline();
  for (const [type, p] of byType) {
    pipe.hset(keyOf(type), consumer, JSON.stringify(p));
    pipe.pexpire(keyOf(type), STALE_FIELD_MS);
  }
  await pipe.exec();
  if (!prune) return;
  for (const type of byType.keys()) {
    const fields = await redis.hgetall(keyOf(type));
    const stale = Object.entries(fields)
      .filter(([, json]) => now - (parseRecord(json)?.at ?? 0) > STALE_FIELD_MS)
      .map(([consumer]) => consumer);
    if (stale.length) await redis.hdel(keyOf(type), ...stale);
  }
}

/** A published record of either kind, or undefined when the field is not one (garbage, or a foreign writer). */
export function parseRecord<T extends { at: number; everyMs: number } = PublishedSlo>(
  json: string,
): T | undefined {
  try {
    const p = JSON.parse(json) as T;
    return typeof p?.at === 'number' && typeof p.everyMs === 'number' ? p : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The fleet's attainment of one type: the fresh records (younger than 3 of their publish periods: a stopped
 * worker's minute drops out) summed per lane. Read-only, so `lane stats` writes nothing.
 */
export async function readPublishedSlo(
  redis: RedisClient,
  key: string,
  now = Date.now(),
): Promise<Partial<Record<Lane, { objectiveMs: number; met: number; total: number }>>> {
  const fields = await redis.hgetall(key);
  const out: Partial<Record<Lane, { objectiveMs: number; met: number; total: number }>> = {};
  for (const json of Object.values(fields)) {
    const p = parseRecord<PublishedSlo>(json);
    if (!p || now - p.at > 3 * p.everyMs) continue;
    for (const lane of LANES) {
      const l = p.lanes[lane];
      if (!l) continue;
      const o = out[lane] ?? { objectiveMs: l.objectiveMs, met: 0, total: 0 };
      // Workers should agree on a type's objective; during a rollout the strictest one is shown.
      o.objectiveMs = Math.min(o.objectiveMs, l.objectiveMs);
      o.met += l.met;
      o.total += l.total;
      out[lane] = o;
    }
  }
  return out;
}

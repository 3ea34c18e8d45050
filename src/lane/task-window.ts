/**
 * A worker's last minute per task type and lane, for the board's cluster-wide figures: tasks done (succeeded), runs
 * failed (retried or dead-lettered), and histograms of queue wait and run time over fixed bucket bounds.
 *
 * Cheap by design, like the SLO windows (slo.ts): a ring of 12 five-second buckets of counters, so nothing grows with
 * the task rate; the worker publishes the minute's sums in the same periodic HSET per type as its SLO attainment
 * (`publishSlo`), never a write per task. Fixed bounds make every worker's histogram mergeable by adding counts, so
 * the board can sum the fleet's and read a p95 from the sum (as the upper bound of the bucket holding it).
 */
import type { Lane } from './keys';
import { LANES } from './keys';
import type { RedisClient } from './redis-connections';
import { parseRecord, publishPerType } from './slo';
import { MinuteRing } from './minute-ring';

/**
 * Upper bounds (ms) of the histogram buckets, the metrics' express latency buckets (EXPRESS_LATENCY_BUCKETS) in ms so
 * the board's cluster p95 and Prometheus's agree on where a bucket ends; a last bucket holds what is above 60 s.
 */
export const LATENCY_BOUNDS_MS = [
  1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000,
];

/** One type and lane's minute as published: counts, and per-bucket (not cumulative) counts, trailing zeros dropped. */
export interface LaneWindow {
  done: number;
  failed: number;
  wait: number[];
  run: number[];
}

export type TypeWindow = Partial<Record<Lane, LaneWindow>>;

interface Slot {
  done: number;
  failed: number;
  wait: number[];
  run: number[];
}

const bucketOf = (ms: number): number => {
  let i = 0;
  while (i < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[i]!) i++;
  return i;
};

/** Every served type and lane's last minute, in 5 s slots. */
export class TaskWindow {
  private readonly rings = new Map<string, { type: string; lane: Lane; ring: MinuteRing<Slot> }>();

  succeeded(type: string, lane: Lane, waitMs: number, runMs: number, now = Date.now()): void {
    const s = this.slot(type, lane, now);
    s.done += 1;
    s.wait[bucketOf(waitMs)]! += 1;
    s.run[bucketOf(runMs)]! += 1;
  }

  /** A run that failed: retried, or dead-lettered. */
  failed(type: string, lane: Lane, now = Date.now()): void {
    this.slot(type, lane, now).failed += 1;
  }

  /** Per type, the sums of the last minute (the current slot included) of each lane that saw a task. */
  readings(now = Date.now()): Map<string, TypeWindow> {
    const out = new Map<string, TypeWindow>();
    for (const { type, lane, ring } of this.rings.values()) {
      const sum: LaneWindow = { done: 0, failed: 0, wait: emptyCounts(), run: emptyCounts() };
      for (const s of ring.live(now)) {
        sum.done += s.done;
        sum.failed += s.failed;
        addCounts(sum.wait, s.wait);
        addCounts(sum.run, s.run);
      }
      const w = out.get(type) ?? {};
      w[lane] = { ...sum, wait: trimZeros(sum.wait), run: trimZeros(sum.run) };
      out.set(type, w);
    }
    return out;
  }

  private slot(type: string, lane: Lane, now: number): Slot {
    const key = `${type}\u0000${lane}`;
    let entry = this.rings.get(key);
    if (!entry) {
      entry = {
        type,
        lane,
        ring: new MinuteRing<Slot>(() => ({ done: 0, failed: 0, wait: emptyCounts(), run: emptyCounts() })),
      };
      this.rings.set(key, entry);
    }
    return entry.ring.current(now);
  }
}

const emptyCounts = (): number[] => new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);

/** Adds `more` into `into`, bucket by bucket (a shorter array's missing tail is zeros). */
export function addCounts(into: number[], more: readonly number[]): number[] {
  for (let i = 0; i < more.length; i++) into[i] = (into[i] ?? 0) + (Number(more[i]) || 0);
  return into;
}

function trimZeros(counts: number[]): number[] {
  let end = counts.length;
  while (end > 0 && counts[end - 1] === 0) end--;
  return counts.slice(0, end);
}

/**
 * The 95th percentile of a histogram's counts as the upper bound (ms) of the bucket holding it (nearest bucket bound,
 * never below the true value); Infinity when it falls above the last bound, undefined for an empty histogram.
 */
export function p95OfCounts(counts: readonly number[]): number | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0) return undefined;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= 0.95 * total) return LATENCY_BOUNDS_MS[i] ?? Infinity;
  }
  return Infinity;
}

/** A worker's published record, as far as the merge needs it. */
export interface PublishedWindow {
  at: number;
  everyMs: number;
  window?: TypeWindow;
}

export interface MergedWindow {
  /** Workers whose fresh record held a window (0: none published one; use another source). */
  workers: number;
  lanes: Record<Lane, LaneWindow>;
}

/**
 * Sums the fresh windows of one type over the fleet. A record older than 3 of its publish periods is left out (its
 * worker stopped or hung: its minute is no longer the last minute), as `lane stats` does for SLO attainment; a record
 * without a window (a worker of an older version) is not counted as a publisher.
 */
export function mergeWindows(records: readonly PublishedWindow[], now = Date.now()): MergedWindow {
  const lanes = Object.fromEntries(
    LANES.map((l) => [l, { done: 0, failed: 0, wait: [], run: [] } as LaneWindow]),
  ) as Record<Lane, LaneWindow>;
  let workers = 0;
  for (const r of records) {
    if (!r.window || now - r.at > 3 * r.everyMs) continue;
    workers += 1;
    for (const lane of LANES) {
      const w = r.window[lane];
      if (!w) continue;
      lanes[lane].done += Number(w.done) || 0;
      lanes[lane].failed += Number(w.failed) || 0;
      addCounts(lanes[lane].wait, w.wait ?? []);
      addCounts(lanes[lane].run, w.run ?? []);
    }
  }
  return { workers, lanes };
}

/**
 * Writes this worker's windows, one HSET per type it serves (field: consumer name; `keyOf` is LaneKeys.taskWindow),
 * in one pipeline, with the SLO publication's expiry and pruning (slo.ts `publishPerType`). Every served type is
 * written, idle ones with empty lanes, so a reader can tell "this worker did nothing" from "no worker publishes".
 */
export async function publishWindows(
  redis: RedisClient,
  keyOf: (type: string) => string,
  consumer: string,
  types: readonly string[],
  readings: ReadonlyMap<string, TypeWindow>,
  everyMs: number,
  prune = false,
  now = Date.now(),
): Promise<void> {
  const byType = new Map<string, PublishedWindow>();
  for (const type of types) byType.set(type, { at: now, everyMs, window: readings.get(type) ?? {} });
  await publishPerType(redis, keyOf, consumer, byType, prune, now);
}

/** The fleet's window of one type (one HGETALL), merged by `mergeWindows`. Read-only. */
export async function readWindows(redis: RedisClient, key: string, now = Date.now()): Promise<MergedWindow> {
  const fields = await redis.hgetall(key);
  const records: PublishedWindow[] = [];
  for (const json of Object.values(fields)) {
    const r = parseRecord<PublishedWindow>(json);
    if (r) records.push(r);
  }
  return mergeWindows(records, now);
}

/**
 * The worker's task window and the board's merge of the fleet's windows: counts and histograms over a sliding
 * minute of 5 s slots, histograms summed bucket by bucket, the p95 read as the upper bound of the bucket holding it,
 * and records of stopped workers (older than 3 publish periods) or of older versions (no window) left out.
 */
import {
  addCounts,
  LATENCY_BOUNDS_MS,
  mergeWindows,
  p95OfCounts,
  TaskWindow,
  type PublishedWindow,
} from '../../src/lane/task-window';

const T0 = 1_700_000_000_000; // a multiple of 5 s: slot boundaries are predictable

/** Counts with `n` observations in the bucket whose upper bound is `boundMs`. */
function countsAt(entries: [boundMs: number, n: number][]): number[] {
  const out: number[] = [];
  for (const [bound, n] of entries) {
    const i = LATENCY_BOUNDS_MS.indexOf(bound);
    if (i < 0) throw new Error(`no bound ${bound}`);
    addCounts(out, Object.assign(new Array<number>(i + 1).fill(0), { [i]: n }));
  }
  return out;
}

describe('TaskWindow', () => {
  it('counts done, failed and the latency buckets per type and lane, trailing zero buckets dropped', () => {
    const w = new TaskWindow();
    w.succeeded('t', 'express', 3, 20, T0);
    w.succeeded('t', 'express', 0, 80, T0 + 1000);
    w.failed('t', 'express', T0 + 2000);
    w.failed('t', 'standard', T0 + 2000);
    const r = w.readings(T0 + 3000).get('t')!;
    expect(r.express).toEqual({
      done: 2,
      failed: 1,
      wait: countsAt([
        [1, 1],
        [5, 1],
      ]),
      run: countsAt([
        [25, 1],
        [100, 1],
      ]),
    });
    expect(r.standard).toEqual({ done: 0, failed: 1, wait: [], run: [] });
  });

  it('slides: what is older than a minute (in 5 s slots) leaves the sums', () => {
    const w = new TaskWindow();
    w.succeeded('t', 'express', 1, 1, T0);
    w.succeeded('t', 'express', 1, 1, T0 + 30_000);
    expect(w.readings(T0 + 59_999).get('t')!.express!.done).toBe(2);
    // 60 s on, the first slot is a minute old: out.
    expect(w.readings(T0 + 60_000).get('t')!.express!.done).toBe(1);
    // A slot reused a round later starts from zero.
    w.succeeded('t', 'express', 1, 1, T0 + 60_000);
    expect(w.readings(T0 + 60_000).get('t')!.express!.done).toBe(2);
    expect(w.readings(T0 + 200_000).get('t')!.express).toEqual({ done: 0, failed: 0, wait: [], run: [] });
  });

  it('a latency above the last bound goes to the overflow bucket', () => {
    const w = new TaskWindow();
    w.succeeded('t', 'express', 0, 120_000, T0);
    expect(w.readings(T0).get('t')!.express!.run).toHaveLength(LATENCY_BOUNDS_MS.length + 1);
    expect(p95OfCounts(w.readings(T0).get('t')!.express!.run)).toBe(Infinity);
  });
});

describe('p95OfCounts', () => {
  it('is the upper bound of the bucket holding the 95th percentile', () => {
    expect(p95OfCounts([])).toBeUndefined();
    expect(
      p95OfCounts(
        countsAt([
          [25, 95],
          [100, 5],
        ]),
      ),
    ).toBe(25);
    expect(
      p95OfCounts(
        countsAt([
          [25, 94],
          [100, 6],
        ]),
      ),
    ).toBe(100);
    expect(p95OfCounts(countsAt([[2.5, 1]]))).toBe(2.5);
  });
});

describe('mergeWindows', () => {
  const rec = (at: number, done: number, run: number[], everyMs = 5000): PublishedWindow => ({
    at,
    everyMs,
    window: { express: { done, failed: 1, wait: [], run } },
  });

  it('sums the workers’ counts and histograms bucket by bucket, and reads the p95 of the sum', () => {
    // Worker a: 10 fast (≤ 25 ms); worker b: 10 slow (≤ 100 ms). Alone, a's p95 is 25; merged, half are slow.
    const a = rec(T0, 10, countsAt([[25, 10]]));
    const b = rec(T0 - 4000, 10, countsAt([[100, 10]]));
    const m = mergeWindows([a, b], T0);
    expect(m.workers).toBe(2);
    expect(m.lanes.express).toMatchObject({ done: 20, failed: 2 });
    expect(m.lanes.express.run).toEqual(
      countsAt([
        [25, 10],
        [100, 10],
      ]),
    );
    expect(p95OfCounts(m.lanes.express.run)).toBe(100);
    expect(m.lanes.standard).toEqual({ done: 0, failed: 0, wait: [], run: [] });
  });

  it('leaves out records older than 3 publish periods, and records without a window', () => {
    const fresh = rec(T0 - 15_000, 7, countsAt([[25, 7]]));
    const stale = rec(T0 - 15_001, 1000, countsAt([[30_000, 1000]]));
    const older: PublishedWindow = { at: T0, everyMs: 5000 };
    const m = mergeWindows([fresh, stale, older], T0);
    expect(m.workers).toBe(1);
    expect(m.lanes.express.done).toBe(7);
    expect(p95OfCounts(m.lanes.express.run)).toBe(25);
    expect(mergeWindows([stale, older], T0).workers).toBe(0);
  });
});

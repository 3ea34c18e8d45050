/**
 * The last minute of this process's express workers, from its metrics registry: per type and lane, tasks finished,
 * failed runs (retried or dead), and the p95 of queue wait and run time. Counters and histograms only grow, so the
 * figures are differences between a sample taken now and the oldest sample within the minute; a sample reads the
 * in-process registry only (no Redis), and is taken when the board asks, at most once per `minSpacingMs`.
 */
import type { Histogram, Counter } from 'prom-client';
import type { SagalaneMetrics } from '../observability';

export interface WindowFigures {
  /** Tasks that succeeded per minute (over the window actually covered, up to 60 s). */
  throughputPerMin?: number;
  /** Runs that failed (retried or dead-lettered) within the window. */
  failures?: number;
  /** p95 of queue wait within the window, ms (the upper bound of its histogram bucket). */
  p95WaitMs?: number;
  /** p95 of handler run time within the window, ms (bucket upper bound). */
  p95RunMs?: number;
  /** Seconds the figures cover. */
  windowS?: number;
}

interface Sample {
  at: number;
  succeeded: Map<string, number>;
  failed: Map<string, number>;
  wait: Map<string, Map<number, number>>;
  run: Map<string, Map<number, number>>;
}

const WINDOW_MS = 60_000;

export class ProcessWindow {
  private samples: Sample[] = [];

  constructor(
    private readonly metrics: SagalaneMetrics,
    private readonly minSpacingMs = 1000,
  ) {}

  /** Takes a sample (unless the last is fresher than `minSpacingMs`) and returns the figures per `type\0lane`. */
  async figures(now = Date.now()): Promise<Map<string, WindowFigures>> {
    const last = this.samples.at(-1);
    if (!last || now - last.at >= this.minSpacingMs) this.samples.push(await this.sample(now));
    // The base is the newest sample at least a minute old (or the oldest there is): the figures always cover a
    // minute once there is one, never less because the sample just past the minute was dropped.
    let base = 0;
    this.samples.forEach((sample, i) => {
      if (now - sample.at >= WINDOW_MS) base = i;
    });
    if (base > 0) this.samples = this.samples.slice(base);
    const newest = this.samples.at(-1)!;
    const oldest = this.samples[0]!;
    const out = new Map<string, WindowFigures>();
    if (newest === oldest) return out;
    const spanS = (newest.at - oldest.at) / 1000;
    for (const key of newest.succeeded.keys()) out.set(key, {});
    for (const key of newest.failed.keys()) out.set(key, {});
    for (const [key, fig] of out) {
      const done = (newest.succeeded.get(key) ?? 0) - (oldest.succeeded.get(key) ?? 0);
      fig.throughputPerMin = Math.round((done / spanS) * 60);
      fig.failures = (newest.failed.get(key) ?? 0) - (oldest.failed.get(key) ?? 0);
      fig.p95WaitMs = p95(newest.wait.get(key), oldest.wait.get(key));
      fig.p95RunMs = p95(newest.run.get(key), oldest.run.get(key));
      fig.windowS = Math.round(spanS);
    }
    return out;
  }

  private async sample(at: number): Promise<Sample> {
    const e = this.metrics.express;
    const [succeeded, retried, dead, wait, run] = await Promise.all([
      counts(e.succeeded),
      counts(e.retried),
      counts(e.dead),
      buckets(e.waitSeconds),
      buckets(e.runSeconds),
    ]);
    const failed = new Map(retried);
    for (const [k, v] of dead) failed.set(k, (failed.get(k) ?? 0) + v);
    return { at, succeeded, failed, wait, run };
  }
}

const keyOf = (labels: Partial<Record<string, string | number>>) => `${labels.type}\u0000${labels.lane}`;

async function counts(counter: Counter<'type' | 'lane'>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of (await counter.get()).values) out.set(keyOf(v.labels), v.value);
  return out;
}

/** Cumulative bucket counts per `type\0lane`, by upper bound in seconds (`+Inf` as Infinity). */
async function buckets(histogram: Histogram<'type' | 'lane'>): Promise<Map<string, Map<number, number>>> {
  const out = new Map<string, Map<number, number>>();
  for (const v of (await histogram.get()).values) {
    if (!v.metricName?.endsWith('_bucket')) continue;
    const labels = v.labels as Partial<Record<'type' | 'lane' | 'le', string | number>>;
    const key = keyOf(labels);
    const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
    const m = out.get(key) ?? new Map<number, number>();
    m.set(le, v.value);
    out.set(key, m);
  }
  return out;
}

/** The upper bound (ms) of the bucket holding the 95th percentile of what was observed between two samples. */
function p95(now?: Map<number, number>, before?: Map<number, number>): number | undefined {
  if (!now) return undefined;
  const bounds = [...now.keys()].sort((a, b) => a - b);
  const total = (now.get(Infinity) ?? 0) - (before?.get(Infinity) ?? 0);
  if (total <= 0) return undefined;
  for (const le of bounds) {
    if ((now.get(le) ?? 0) - (before?.get(le) ?? 0) >= 0.95 * total)
      return le === Infinity ? Infinity : le * 1000;
  }
  return undefined;
}

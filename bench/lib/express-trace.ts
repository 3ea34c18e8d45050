/**
 * Where a paced round trip's time goes: per-phase percentiles of traced lane round trips (express-subjects.ts
 * `RoundTripTrace`), what the slowest 5 % spent in each phase against the median task, and what the process did
 * meanwhile (garbage-collection pauses, event-loop delay). Used by bench:express's paced runs.
 */
import {
  constants,
  monitorEventLoopDelay,
  PerformanceObserver,
  type PerformanceEntry,
} from 'node:perf_hooks';
import type { RoundTripTrace } from './express-subjects';
import { summarize, type LatencySummary } from './stats';

export const PHASES = ['submit', 'read', 'dispatch', 'run+write', 'notify', 'fetch'] as const;
export type Phase = (typeof PHASES)[number];

export interface PhaseReport {
  /** Traced round trips with every mark (a task whose completion message was missed has no `notify`). */
  tasks: number;
  total: LatencySummary;
  /** Per phase over all traced tasks. */
  phases: Record<Phase, LatencySummary>;
  /** Mean ms per phase of the tasks at or above the p95 of the total, and of those at or below its p50. */
  slowest5pct: Record<Phase, number>;
  median50pct: Record<Phase, number>;
  /** GC pauses during the run: count, total and longest ms, and how many lasted 2 ms or more. */
  gc: { count: number; totalMs: number; maxMs: number; over2ms: number; byKind: Record<string, number> };
  /** Event-loop delay (monitorEventLoopDelay, 1 ms resolution) in ms. */
  eventLoopDelay: { p50: number; p99: number; max: number };
}

function phasesOf(t: RoundTripTrace): Record<Phase, number> | undefined {
  if (
    t.delivered === undefined ||
    t.started === undefined ||
    t.stored === undefined ||
    t.published === undefined
  )
    return undefined;
  // The worker can read the entry before the client has read SUBMIT's reply: the read phase is then 0.
  const delivered = Math.max(t.delivered, t.submitted);
  const started = Math.max(t.started, delivered);
  return {
    submit: t.submitted - t.called,
    read: delivered - t.submitted,
    dispatch: started - delivered,
    'run+write': t.stored - started,
    notify: Math.max(0, t.published - t.stored),
    fetch: t.resolved - Math.max(t.published, t.stored),
  };
}

/** GC pauses per kind (scavenge = young generation, mark-sweep = full), "kind: count/total ms". */
function gcKinds(gcs: PerformanceEntry[]): Record<string, number> {
  const names: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-sweep',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
  };
  const out: Record<string, number> = {};
  for (const g of gcs) {
    const kind = names[(g as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
    out[`${kind} ms`] = (out[`${kind} ms`] ?? 0) + g.duration;
    out[`${kind} count`] = (out[`${kind} count`] ?? 0) + 1;
  }
  return out;
}

function mean(rows: Record<Phase, number>[]): Record<Phase, number> {
  const out = Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>;
  for (const r of rows) for (const p of PHASES) out[p] += r[p] / rows.length;
  return out;
}

/** Starts watching GC and the event loop; `finish(traces)` stops and reports. */
export function watchProcess(): { finish(traces: RoundTripTrace[]): PhaseReport | undefined } {
  const gcs: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => gcs.push(...list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  return {
    finish(traces) {
      obs.disconnect();
      delay.disable();
      const rows = traces
        .map((t) => ({ t, p: phasesOf(t) }))
        .filter((r): r is { t: RoundTripTrace; p: Record<Phase, number> } => r.p !== undefined);
      if (!rows.length) return undefined;
      const totals = rows.map((r) => r.t.resolved - r.t.called);
      const total = summarize(totals)!;
      const phases = Object.fromEntries(
        PHASES.map((p) => [p, summarize(rows.map((r) => r.p[p]))!]),
      ) as Record<Phase, LatencySummary>;
      const durations = gcs.map((g) => g.duration);
      return {
        tasks: rows.length,
        total,
        phases,
        slowest5pct: mean(rows.filter((_, i) => totals[i]! >= total.p95).map((r) => r.p)),
        median50pct: mean(rows.filter((_, i) => totals[i]! <= total.p50).map((r) => r.p)),
        gc: {
          count: durations.length,
          totalMs: durations.reduce((a, b) => a + b, 0),
          maxMs: durations.length ? Math.max(...durations) : 0,
          over2ms: durations.filter((d) => d >= 2).length,
          byKind: gcKinds(gcs),
        },
        eventLoopDelay: {
          p50: delay.percentile(50) / 1e6,
          p99: delay.percentile(99) / 1e6,
          max: delay.max / 1e6,
        },
      };
    },
  };
}

/** One line per phase for the console: p50 / p95 / p99, and the slowest 5 %'s mean against the median's. */
export function phaseLines(name: string, r: PhaseReport): string {
  const f = (x: number) => x.toFixed(2);
  const lines = [
    `${name}: ${r.tasks} traced round trips, total p50 ${f(r.total.p50)} / p95 ${f(r.total.p95)} / p99 ${f(r.total.p99)} ms` +
      ` (from the call, without the pacer's own lag)`,
    ...PHASES.map(
      (p) =>
        `  ${p.padEnd(10)} p50 ${f(r.phases[p].p50)}  p95 ${f(r.phases[p].p95)}  p99 ${f(r.phases[p].p99)}` +
        `   mean of slowest 5 % ${f(r.slowest5pct[p])}  of fastest half ${f(r.median50pct[p])}`,
    ),
    `  gc: ${r.gc.count} pauses, ${f(r.gc.totalMs)} ms in all, longest ${f(r.gc.maxMs)} ms, ${r.gc.over2ms} ≥ 2 ms ${JSON.stringify(r.gc.byKind)};` +
      ` event-loop delay p50 ${f(r.eventLoopDelay.p50)} / p99 ${f(r.eventLoopDelay.p99)} / max ${f(r.eventLoopDelay.max)} ms`,
  ];
  return lines.join('\n');
}

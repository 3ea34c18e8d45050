/**
 * Load shapes shared by the benchmarks, independent of what is being measured:
 * - closed loop: `concurrency` callers each repeat submit → result, so exactly that many tasks are in flight;
 * - saturation: a backlog is kept topped up and completions are counted (the most a consumer can drain);
 * - paced: tasks are offered at a fixed rate whatever happens, and latency counts from when each task was due
 *   (so a stalled submitter cannot hide its own delay: no coordinated omission).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Progress } from './progress';
import { summarize, type LatencySummary } from './stats';

export interface LoadResult {
  tasksPerSecond: number;
  completed: number;
  seconds: number;
  latency?: LatencySummary;
  errors: number;
}

export interface ClosedLoopOptions {
  label: string;
  concurrency: number;
  durationMs: number;
  /** Samples from the first `warmupMs` are not counted. @defaultValue 500 */
  warmupMs?: number;
}

export async function closedLoop(
  opts: ClosedLoopOptions,
  roundTrip: () => Promise<void>,
): Promise<LoadResult> {
  const warmupMs = opts.warmupMs ?? 500;
  const progress = new Progress(opts.label, undefined, warmupMs + opts.durationMs);
  const started = performance.now();
  const measureFrom = started + warmupMs;
  const end = measureFrom + opts.durationMs;
  const latencies: number[] = [];
  let completedInWindow = 0;
  let errors = 0;
  let firstError: unknown;
  const caller = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await roundTrip();
      } catch (err) {
        errors++;
        firstError ??= err;
        continue;
      }
      const t1 = performance.now();
      progress.add();
      // Throughput counts every completion inside the window; latency only tasks that also started in it.
      if (t1 >= measureFrom && t1 <= end) completedInWindow++;
      if (t0 >= measureFrom && t1 <= end) latencies.push(t1 - t0);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, caller));
  progress.finish();
  if (errors && !latencies.length) throw firstError;
  return {
    tasksPerSecond: completedInWindow / (opts.durationMs / 1000),
    completed: completedInWindow,
    seconds: opts.durationMs / 1000,
    latency: summarize(latencies),
    errors,
  };
}

export interface SaturationOptions {
  label: string;
  durationMs: number;
  /** Tasks per enqueue call. @defaultValue 500 */
  batch?: number;
  /** Most tasks waiting at once. @defaultValue 5000 */
  maxBacklog?: number;
  warmupMs?: number;
}

/** `completed()` is a running count of tasks the consumer finished. */
export async function saturation(
  opts: SaturationOptions,
  enqueue: (n: number) => Promise<void>,
  completed: () => number,
): Promise<LoadResult> {
  const batch = opts.batch ?? 500;
  const maxBacklog = opts.maxBacklog ?? 5000;
  const warmupMs = opts.warmupMs ?? 500;
  const progress = new Progress(opts.label, undefined, warmupMs + opts.durationMs);
  const base = completed();
  const started = performance.now();
  const measureFrom = started + warmupMs;
  const end = measureFrom + opts.durationMs;
  let enqueued = 0;
  let countAtStart: number | undefined;
  let countAtEnd: number | undefined;
  const sampler = setInterval(() => {
    const now = performance.now();
    if (countAtStart === undefined && now >= measureFrom) countAtStart = completed();
    if (countAtEnd === undefined && now >= end) countAtEnd = completed();
  }, 1);
  try {
    while (performance.now() < end) {
      const done = completed() - base;
      progress.add(done - progress.count);
      if (enqueued - done < maxBacklog) {
        await enqueue(batch);
        enqueued += batch;
      } else {
        await sleep(2);
      }
    }
    while (countAtEnd === undefined) await sleep(1);
  } finally {
    clearInterval(sampler);
  }
  progress.finish();
  const counted = countAtEnd - (countAtStart ?? base);
  return {
    tasksPerSecond: counted / (opts.durationMs / 1000),
    completed: counted,
    seconds: opts.durationMs / 1000,
    errors: 0,
  };
}

export interface PacedOptions {
  label: string;
  ratePerSecond: number;
  durationMs: number;
  warmupMs?: number;
  /** Give up waiting for stragglers after this long. @defaultValue 30000 */
  drainTimeoutMs?: number;
}

export async function paced(opts: PacedOptions, roundTrip: () => Promise<void>): Promise<LoadResult> {
  const warmupMs = opts.warmupMs ?? 1000;
  const total = Math.round(((warmupMs + opts.durationMs) / 1000) * opts.ratePerSecond);
  const warmupCount = Math.round((warmupMs / 1000) * opts.ratePerSecond);
  const progress = new Progress(opts.label, total);
  const latencies: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let errors = 0;
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * opts.ratePerSecond) + 1);
    for (; sent < due; sent++) {
      const index = sent;
      const dueAt = started + (index * 1000) / opts.ratePerSecond;
      const p = roundTrip().then(
        () => {
          progress.add();
          if (index >= warmupCount) latencies.push(performance.now() - dueAt);
        },
        () => {
          errors++;
        },
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await sleep(1);
  }
  const drained = Promise.all(inFlight).then(() => true);
  const timedOut = sleep(opts.drainTimeoutMs ?? 30_000).then(() => false);
  const ok = await Promise.race([drained, timedOut]);
  progress.finish(ok ? '' : '(stragglers timed out)');
  return {
    tasksPerSecond: latencies.length / ((performance.now() - started - warmupMs) / 1000),
    completed: latencies.length,
    seconds: opts.durationMs / 1000,
    latency: summarize(latencies),
    errors: errors + (ok ? 0 : inFlight.size),
  };
}

/**
 * ml's CPU part: walk-forward validation of every candidate parameter set on the training bars, picking the one with
 * the best out-of-sample score. No I/O; inputs and outputs are plain data, so it runs in a worker thread as well as
 * in the agent's own.
 *
 * The method: the training bars after the strategy's warm-up are cut into `folds + 1` consecutive segments of equal
 * length. Fold i (1..folds) is fitted on segments 0..i-1 (anchored, growing) and scored on segment i, which the fit
 * never saw. A candidate's validation score is the mean of its annualised Sharpe ratios (net of costs) over the
 * folds' out-of-sample segments, and the candidate with the best validation score is chosen; ties keep the
 * candidates' order, so the result is deterministic. Each fold also records which candidate its in-sample data
 * would have picked and how that pick did out of sample, so the report shows what fitting on the past was worth.
 * With too few bars for one fold (a segment must hold `MIN_SEGMENT_BARS`), the score is the training Sharpe and the
 * result says so (`folds: 0`).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { sharpeRatio, simulate } from './backtest-engine';
import type { CpuTaskHooks } from './cpu-task-hooks';
import type { Bar } from './market-data';
import { loadStrategy, type SandboxOptions, type StrategyRunner } from './strategy-sandbox';

export type StrategyLoader = (
  source: string,
  bars: readonly Bar[],
  options: SandboxOptions,
) => StrategyRunner | Promise<StrategyRunner>;

/** Default number of walk-forward folds. */
export const DEFAULT_WALK_FORWARD_FOLDS = 4;
/** Fewest bars in a walk-forward segment. */
export const MIN_SEGMENT_BARS = 30;

export interface ParameterSearchTask {
  source: string;
  /** The training bars (the held-out split never reaches the search). */
  bars: Bar[];
  candidates: Record<string, number>[];
  costPerUnit: number;
  sandboxTimeoutMs: number;
  /** Walk-forward folds. @defaultValue `DEFAULT_WALK_FORWARD_FOLDS` (4) */
  folds?: number;
  /** Bars before the first segment (the longest warm-up of the candidates). @defaultValue 0 */
  warmupBars?: number;
}
export interface ScoredCandidate {
  params: Record<string, number>;
  /** Annualised Sharpe over the whole training split. */
  sharpe: number;
  /** Mean out-of-sample Sharpe over the folds (the selection score); the training Sharpe when `folds` is 0. */
  validationSharpe: number;
  /** Out-of-sample Sharpe of each fold. */
  foldSharpes: number[];
}
export interface FoldReport {
  /** Out-of-sample segment, as indices into the training bars (`to` exclusive). */
  from: number;
  to: number;
  /** The candidate with the best Sharpe on the fold's in-sample segments, and how it did out of sample. */
  inSampleBest: Record<string, number>;
  inSampleSharpe: number;
  outOfSampleSharpe: number;
}
export interface ParameterSearchResult {
  /** Best validation score first. */
  ranked: ScoredCandidate[];
  folds: FoldReport[];
  /** The candidate a plain fit on the whole training split would pick (best `sharpe`). */
  inSampleBest: ScoredCandidate;
}

/** Segment bounds `[start, end)` over `n` bars after `warmup`, or none when a segment would be too short. */
export function walkForwardSegments(n: number, warmup: number, folds: number): [number, number][] {
  const usable = n - warmup;
  const k = Math.min(folds, Math.floor(usable / MIN_SEGMENT_BARS) - 1);
  if (k < 1) return [];
  const length = Math.floor(usable / (k + 1));
  return Array.from({ length: k + 1 }, (_, j) => [
    warmup + j * length,
    j === k ? n : warmup + (j + 1) * length,
  ]);
}

export async function searchParameters(
  task: ParameterSearchTask,
  hooks?: CpuTaskHooks,
  /** Where the strategy runs; another sandbox only in benchmarks (bench/sandbox.ts). */
  load: StrategyLoader = loadStrategy,
): Promise<ParameterSearchResult> {
  const folds = task.folds ?? DEFAULT_WALK_FORWARD_FOLDS;
  if (!Number.isInteger(folds) || folds < 1) throw new Error('folds must be a positive integer');
  const closes = task.bars.map((b) => b.close);
  const runner = await load(task.source, task.bars, {
    timeoutMs: task.sandboxTimeoutMs,
    filename: 'strategy.js',
  });
  const segments = walkForwardSegments(closes.length, task.warmupBars ?? 0, folds);
  // returns[t] is the return from close t to t+1, so a segment [a, b) scores returns a..b-2 (its own bars only).
  const sharpeOver = (returns: number[], a: number, b: number) => sharpeRatio(returns.slice(a, b - 1));
  const scored: (ScoredCandidate & { inSample: number[] })[] = [];
  for (const [i, params] of task.candidates.entries()) {
    hooks?.signal?.throwIfAborted();
    const { returns } = simulate(closes, runner.positions(params), task.costPerUnit);
    const foldSharpes = segments.slice(1).map(([a, b]) => sharpeOver(returns, a, b));
    // In-sample of fold i: from the first segment's start to the start of segment i.
    const inSample = segments.slice(1).map(([a]) => sharpeOver(returns, segments[0]![0], a + 1));
    const sharpe = sharpeRatio(returns);
    const validationSharpe = foldSharpes.length
      ? foldSharpes.reduce((x, y) => x + y, 0) / foldSharpes.length
      : sharpe;
    scored.push({ params, sharpe, validationSharpe, foldSharpes, inSample });
    hooks?.onProgress?.(i + 1, task.candidates.length);
    // Let heartbeats and cancellation through between candidates.
    if (hooks) await yieldToEventLoop();
  }
  const best = <T>(items: T[], score: (t: T) => number): T =>
    items.reduce((b, t) => (score(t) > score(b) ? t : b));
  const foldReports: FoldReport[] = segments.slice(1).map(([from, to], f) => {
    const pick = best(scored, (c) => c.inSample[f]!);
    return {
      from,
      to,
      inSampleBest: pick.params,
      inSampleSharpe: pick.inSample[f]!,
      outOfSampleSharpe: pick.foldSharpes[f]!,
    };
  });
  const strip = ({ inSample: _, ...c }: ScoredCandidate & { inSample: number[] }): ScoredCandidate => c;
  return {
    ranked: [...scored].sort((a, b) => b.validationSharpe - a.validationSharpe).map(strip),
    folds: foldReports,
    inSampleBest: strip(best(scored, (c) => c.sharpe)),
  };
}

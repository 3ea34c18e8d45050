/**
 * ml's CPU part: score every candidate parameter set of a strategy on the training bars and rank them. No I/O;
 * inputs and outputs are plain data, so it runs in a worker thread as well as in the agent's own.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { sharpeRatio, simulate } from './backtest-engine';
import type { CpuTaskHooks } from './cpu-tasks';
import type { Bar } from './market-data';
import { loadStrategy } from './strategy-sandbox';

export interface ParameterSearchTask {
  source: string;
  /** The training bars (the held-out split never reaches the search). */
  bars: Bar[];
  candidates: Record<string, number>[];
  costPerUnit: number;
  sandboxTimeoutMs: number;
}
export interface ScoredCandidate {
  params: Record<string, number>;
  sharpe: number;
}
export interface ParameterSearchResult {
  /** Best first; ties keep the candidates' order, so the result is deterministic. */
  ranked: ScoredCandidate[];
}

export async function searchParameters(
  task: ParameterSearchTask,
  hooks?: CpuTaskHooks,
): Promise<ParameterSearchResult> {
  const closes = task.bars.map((b) => b.close);
  const runner = loadStrategy(task.source, task.bars, {
    timeoutMs: task.sandboxTimeoutMs,
    filename: 'strategy.js',
  });
  const scored: ScoredCandidate[] = [];
  for (const [i, params] of task.candidates.entries()) {
    hooks?.signal?.throwIfAborted();
    const sharpe = sharpeRatio(simulate(closes, runner.positions(params), task.costPerUnit).returns);
    scored.push({ params, sharpe });
    hooks?.onProgress?.(i + 1, task.candidates.length);
    // Let heartbeats and cancellation through between candidates.
    if (hooks) await yieldToEventLoop();
  }
  return { ranked: [...scored].sort((a, b) => b.sharpe - a.sharpe) };
}

/**
 * The backtest's CPU part: run the strategy over the whole series (so indicators are warm when the held-out split
 * starts; positions only look backwards, so the training bars inform but do not leak) and score the held-out bars.
 * No I/O; plain data in and out.
 */
import { backtestMetrics, type Trade } from './backtest-engine';
import type { BacktestMetrics } from './contracts';
import type { Bar } from './market-data';
import { loadStrategy } from './strategy-sandbox';

export interface BacktestRunTask {
  source: string;
  bars: Bar[];
  /** Index of the first held-out bar. */
  heldOutFrom: number;
  params: Record<string, number>;
  costPerUnit: number;
  sandboxTimeoutMs: number;
}
export interface BacktestRunResult {
  metrics: BacktestMetrics;
  /** Trades with indices into the held-out bars. */
  trades: Trade[];
  /** Equity after each held-out close, starting at 1; and buy and hold's over the same bars. */
  equity: number[];
  buyAndHoldEquity: number[];
}

export async function runBacktest(task: BacktestRunTask): Promise<BacktestRunResult> {
  const runner = await loadStrategy(task.source, task.bars, {
    timeoutMs: task.sandboxTimeoutMs,
    filename: 'strategy.js',
  });
  const positions = runner.positions(task.params).slice(task.heldOutFrom);
  const held = task.bars.slice(task.heldOutFrom);
  const { tradeList, equity, buyAndHoldEquity, ...metrics } = backtestMetrics(
    held.map((b) => b.close),
    positions,
    task.costPerUnit,
  );
  return { metrics, trades: tradeList, equity, buyAndHoldEquity };
}

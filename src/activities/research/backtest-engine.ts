/**
 * Turns positions into returns and the metrics a backtest reports. Pure functions, so the known answers (buy and
 * hold, drawdown, Sharpe) are tested directly.
 *
 * Conventions: `positions[i]` is held from close i to close i+1, so a window of n closes yields n-1 period returns
 * and the last position is never applied. A change of position costs `costPerUnit × |new − old|` of equity at the
 * close where it happens (a flip from short to long pays twice); a position still open at the end is marked to
 * market without an exit cost.
 */
import type { BacktestMetrics } from './contracts';

export const TRADING_DAYS_PER_YEAR = 252;

export interface Trade {
  direction: 1 | -1;
  entryIndex: number;
  exitIndex: number;
  /** direction × (exit / entry − 1) minus entry and exit costs. */
  return: number;
  /** Still open at the end of the window (marked to market). */
  open: boolean;
}

export interface Simulation {
  /** Strategy return of each period (length n − 1). */
  returns: number[];
  /** Equity after each close, starting at 1 (length n). */
  equity: number[];
  trades: Trade[];
}

export function simulate(
  closes: readonly number[],
  positions: readonly number[],
  costPerUnit = 0,
): Simulation {
  if (closes.length !== positions.length) {
    throw new Error(`closes (${closes.length}) and positions (${positions.length}) differ in length`);
  }
  if (!(costPerUnit >= 0)) throw new Error('costPerUnit must be ≥ 0');
  const returns: number[] = [];
  const equity: number[] = closes.length ? [1] : [];
  const trades: Trade[] = [];
  let held = 0;
  let current: { direction: 1 | -1; entryIndex: number } | undefined;
  const closeTrade = (exitIndex: number, open: boolean) => {
    if (!current) return;
    const gross = current.direction * (closes[exitIndex]! / closes[current.entryIndex]! - 1);
    trades.push({ ...current, exitIndex, open, return: gross - costPerUnit - (open ? 0 : costPerUnit) });
    current = undefined;
  };
  for (let i = 0; i < closes.length - 1; i++) {
    const next = positions[i]!;
    if (next !== held) {
      closeTrade(i, false);
      if (next !== 0) current = { direction: next > 0 ? 1 : -1, entryIndex: i };
    }
    const cost = costPerUnit * Math.abs(next - held);
    held = next;
    const r = held * (closes[i + 1]! / closes[i]! - 1) - cost;
    returns.push(r);
    equity.push(equity[equity.length - 1]! * (1 + r));
  }
  closeTrade(closes.length - 1, true);
  return { returns, equity, trades };
}

/** Annualised Sharpe ratio (risk-free rate 0): mean / sample standard deviation × √periodsPerYear; 0 if flat. */
export function sharpeRatio(returns: readonly number[], periodsPerYear = TRADING_DAYS_PER_YEAR): number {
  if (returns.length < 2) return 0;
  const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
  const variance = returns.reduce((a, r) => a + (r - mean) ** 2, 0) / (returns.length - 1);
  const sd = Math.sqrt(variance);
  return sd > 1e-12 ? (mean / sd) * Math.sqrt(periodsPerYear) : 0;
}

/** Largest peak-to-trough fall of an equity curve, as a positive fraction of the peak (0.25 = −25 %). */
export function maxDrawdown(equity: readonly number[]): number {
  let peak = -Infinity;
  let worst = 0;
  for (const e of equity) {
    peak = Math.max(peak, e);
    if (peak > 0) worst = Math.max(worst, (peak - e) / peak);
  }
  return worst;
}

/** Annualised Sortino ratio (target 0): mean / downside deviation × √periodsPerYear; 0 without a losing period. */
export function sortinoRatio(returns: readonly number[], periodsPerYear = TRADING_DAYS_PER_YEAR): number {
  if (returns.length < 2) return 0;
  const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
  const downside = Math.sqrt(returns.reduce((a, r) => a + Math.min(r, 0) ** 2, 0) / returns.length);
  return downside > 1e-12 ? (mean / downside) * Math.sqrt(periodsPerYear) : 0;
}

/** Compound annual growth rate of an equity curve over `periods` bars. */
export function cagr(finalEquity: number, periods: number, periodsPerYear = TRADING_DAYS_PER_YEAR): number {
  if (periods <= 0 || finalEquity <= 0) return finalEquity <= 0 ? -1 : 0;
  return finalEquity ** (periodsPerYear / periods) - 1;
}

/** Every metric the backtest report carries, over one window of closes, and the equity curves behind them. */
export function backtestMetrics(
  closes: readonly number[],
  positions: readonly number[],
  costPerUnit: number,
): Required<Omit<BacktestMetrics, 'costPerTradeBps' | 'slippageBps'>> & {
  tradeList: Trade[];
  equity: number[];
  buyAndHoldEquity: number[];
} {
  const sim = simulate(closes, positions, costPerUnit);
  const hold = simulate(
    closes,
    closes.map(() => 1),
    0,
  );
  const periods = sim.returns.length;
  const held = positions.slice(0, periods).filter((p) => p !== 0).length;
  const wins = sim.trades.filter((t) => t.return > 0).length;
  const gains = sim.trades.filter((t) => t.return > 0).reduce((a, t) => a + t.return, 0);
  const losses = -sim.trades.filter((t) => t.return < 0).reduce((a, t) => a + t.return, 0);
  let changed = 0;
  let before = 0;
  for (const p of positions.slice(0, periods)) {
    changed += Math.abs(p - before);
    before = p;
  }
  const final = sim.equity[sim.equity.length - 1] ?? 1;
  const holdFinal = hold.equity[hold.equity.length - 1] ?? 1;
  return {
    totalReturn: final - 1,
    sharpe: sharpeRatio(sim.returns),
    maxDrawdown: maxDrawdown(sim.equity),
    trades: sim.trades.length,
    winRate: sim.trades.length ? wins / sim.trades.length : 0,
    exposure: periods ? held / periods : 0,
    buyAndHoldReturn: closes.length ? closes[closes.length - 1]! / closes[0]! - 1 : 0,
    bars: closes.length,
    cagr: cagr(final, periods),
    sortino: sortinoRatio(sim.returns),
    profitFactor: losses > 0 ? gains / losses : null,
    averageTrade: sim.trades.length ? sim.trades.reduce((a, t) => a + t.return, 0) / sim.trades.length : 0,
    turnover: periods ? (changed / periods) * TRADING_DAYS_PER_YEAR : 0,
    buyAndHold: {
      totalReturn: holdFinal - 1,
      cagr: cagr(holdFinal, periods),
      sharpe: sharpeRatio(hold.returns),
      maxDrawdown: maxDrawdown(hold.equity),
    },
    tradeList: sim.trades,
    equity: sim.equity,
    buyAndHoldEquity: hold.equity,
  };
}

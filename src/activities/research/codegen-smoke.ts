/**
 * Codegen's CPU part: compile generated source in the sandbox and run it once on a deterministic sample series,
 * so code that does not compile, throws or returns garbage fails the codegen step rather than ml. No I/O.
 */
import { smokeSampleBars } from './strategy-codegen';
import { loadStrategy } from './strategy-sandbox';

export interface SmokeRunTask {
  source: string;
  params: Record<string, number>;
  /** Bars of the sample series (warm-up plus enough to trade). */
  bars: number;
  sandboxTimeoutMs: number;
  filename: string;
}
export interface SmokeRunResult {
  /** Bars at which the smoke run held a position (so a caller can tell a strategy that never trades). */
  barsInMarket: number;
}

/** Throws `GeneratedCodeError` when the code fails in the sandbox. */
export async function smokeRunStrategy(task: SmokeRunTask): Promise<SmokeRunResult> {
  const runner = await loadStrategy(task.source, smokeSampleBars(task.bars), {
    timeoutMs: task.sandboxTimeoutMs,
    filename: task.filename,
  });
  const positions = runner.positions(task.params);
  return { barsInMarket: positions.filter((p) => p !== 0).length };
}

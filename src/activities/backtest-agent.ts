/**
 * The backtest agent: runs the saga's generated code with the fitted parameters and scores the held-out split,
 * stored as the saga's `backtest` report artifact (its compensation deletes that artifact). The run itself is a CPU
 * task (./backtest-run).
 */
import type { AgentCallOptions, AgentContext } from './agent-context';
import { agentInputSchemas, parseAgentInput } from './agent-schemas';
import { strategyCodeFor } from './codegen-agent';
import type { ArtifactCompensationInput, BacktestInput, BacktestOutput } from './contracts';
import { FAMILY_SPECS } from './strategy-families';
import { trainSplitIndex, validateParams } from './strategy-params';

export function createBacktestAgent(ctx: AgentContext) {
  return {
    async backtest(rawInput: BacktestInput, options?: AgentCallOptions): Promise<BacktestOutput> {
      const input = parseAgentInput(agentInputSchemas.backtest, rawInput, 'backtest');
      const { source, family } = await strategyCodeFor(ctx, input, 'backtest');
      const params = validateParams(family, input.params);
      const data = await ctx.loadDataset(input.symbol, input.dataset);
      const at = trainSplitIndex(data, ctx.trainFraction, FAMILY_SPECS[family].warmupBars(params), family);
      options?.onProgress?.({ step: 'backtest', done: 0, total: 2, message: 'running the strategy' });
      options?.signal?.throwIfAborted();
      const { metrics, trades } = await ctx.runCpuTask('backtestRun', {
        source,
        bars: data.bars,
        heldOutFrom: at,
        params,
        costPerUnit: ctx.costPerUnit,
        sandboxTimeoutMs: ctx.sandboxTimeoutMs,
      });
      const held = data.bars.slice(at);
      options?.onProgress?.({ step: 'backtest', done: 1, total: 2, message: 'storing the report' });
      const artifact = await ctx.store.put(
        input.sagaId,
        'backtest',
        JSON.stringify({
          family,
          dataset: data.name,
          params,
          costPerTradeBps: ctx.costPerUnit * 10_000,
          period: { from: held[0]!.date, to: held[held.length - 1]!.date },
          metrics,
          trades: trades.slice(0, 500).map((t) => ({
            direction: t.direction,
            entry: held[t.entryIndex]!.date,
            exit: held[t.exitIndex]!.date,
            return: t.return,
            open: t.open,
          })),
        }),
        'application/json',
        { family },
      );
      options?.onProgress?.({ step: 'backtest', done: 2, total: 2 });
      ctx.log.info('backtested', { sagaId: input.sagaId, ...metrics });
      return { artifact, metrics };
    },

    async compensateBacktest(input: ArtifactCompensationInput): Promise<void> {
      await ctx.deleteArtifact(input, 'backtest');
    },
  };
}

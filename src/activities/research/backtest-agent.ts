/**
 * The backtest agent: runs the saga's generated code with the fitted parameters and scores the held-out split,
 * stored as the saga's `backtest` report artifact (its compensation deletes that artifact). The run itself is a CPU
 * task (./backtest-run).
 */
import type { AgentCallOptions, AgentContext } from './agent-context';
import { agentInputSchemas, parseAgentInput } from './agent-schemas';
import { inAgentSpan } from './agent-spans';
import { strategyCodeFor } from './codegen-agent';
import type { ArtifactCompensationInput, BacktestInput, BacktestOutput } from './contracts';
import { SYNTHETIC_DATA_NOTE } from './market-data';
import { FAMILY_SPECS } from './strategy-families';
import { trainSplitIndex, validateParams } from './strategy-params';

export function createBacktestAgent(ctx: AgentContext) {
  return {
    async backtest(rawInput: BacktestInput, options?: AgentCallOptions): Promise<BacktestOutput> {
      const input = parseAgentInput(agentInputSchemas.backtest, rawInput, 'backtest');
      // One span for the step: code, data set, the run (in this thread or a pooled one, made here) and the report.
      return inAgentSpan('backtest', {}, async (span) => {
        const { source, family, extraWarmupBars } = await strategyCodeFor(ctx, input, 'backtest');
        const params = validateParams(family, input.params);
        const costPerTradeBps = input.costPerTradeBps ?? ctx.costPerTradeBps;
        const slippageBps = input.slippageBps ?? ctx.slippageBps;
        const data = await ctx.loadDataset(input.symbol, input.dataset);
        const warmup = FAMILY_SPECS[family].warmupBars(params) + extraWarmupBars;
        const at = trainSplitIndex(data, ctx.trainFraction, warmup, family);
        span.setAttributes({
          'agent.family': family,
          'agent.dataset': data.name,
          'agent.held_out_bars': data.bars.length - at,
        });
        options?.onProgress?.({ step: 'backtest', done: 0, total: 2, message: 'running the strategy' });
        options?.signal?.throwIfAborted();
        const run = await ctx.runCpuTask('backtestRun', {
          source,
          bars: data.bars,
          heldOutFrom: at,
          params,
          costPerUnit: (costPerTradeBps + slippageBps) / 10_000,
          sandboxTimeoutMs: ctx.sandboxTimeoutMs,
        });
        const metrics = { ...run.metrics, costPerTradeBps, slippageBps };
        const { trades } = run;
        span.setAttribute('agent.trades', trades.length);
        const held = data.bars.slice(at);
        options?.onProgress?.({ step: 'backtest', done: 1, total: 2, message: 'storing the report' });
        const artifact = await ctx.store.put(
          input.sagaId,
          'backtest',
          JSON.stringify({
            family,
            dataset: data.name,
            ...(data.synthetic ? { dataNote: SYNTHETIC_DATA_NOTE } : {}),
            params,
            costPerTradeBps,
            slippageBps,
            period: { from: held[0]!.date, to: held[held.length - 1]!.date },
            metrics,
            // One point per held-out close: the strategy's equity and buy and hold's, both starting at 1.
            equityCurve: held.map((b, i) => ({
              date: b.date,
              equity: run.equity[i]!,
              buyAndHold: run.buyAndHoldEquity[i]!,
            })),
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
      });
    },

    async compensateBacktest(input: ArtifactCompensationInput): Promise<void> {
      await ctx.deleteArtifact(input, 'backtest');
    },
  };
}

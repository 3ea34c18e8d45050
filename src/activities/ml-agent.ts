/**
 * The ml agent: fits the plan's parameters on the training split of a data set with the saga's generated code and
 * stores the model as the saga's `ml` artifact (its compensation deletes that artifact). The search itself is a
 * CPU task (./parameter-search).
 */
import type { AgentCallOptions, AgentContext } from './agent-context';
import { agentInputSchemas, parseAgentInput } from './agent-schemas';
import { strategyCodeFor } from './codegen-agent';
import type { ArtifactCompensationInput, MlInput, MlOutput } from './contracts';
import { InvalidAgentInputError } from './errors';
import { FAMILY_SPECS, parameterGrid } from './strategy-families';
import { trainSplitIndex, validateParams } from './strategy-params';

export function createMlAgent(ctx: AgentContext) {
  return {
    async ml(rawInput: MlInput, options?: AgentCallOptions): Promise<MlOutput> {
      const input = parseAgentInput(agentInputSchemas.ml, rawInput, 'ml');
      const { source, family } = await strategyCodeFor(ctx, input, 'ml');
      const spec = FAMILY_SPECS[family];
      const data = await ctx.loadDataset(input.symbol, input.dataset);
      const candidates = input.params
        ? [validateParams(family, input.params)]
        : parameterGrid(input.plan.parameterRanges).filter((p) => !spec.violates(p));
      if (candidates.length === 0) {
        throw new InvalidAgentInputError(`no parameter combination in the plan is valid for ${family}`);
      }
      const warmup = Math.max(...candidates.map((p) => spec.warmupBars(p)));
      const trainBars = data.bars.slice(0, trainSplitIndex(data, ctx.trainFraction, warmup, family));
      const { ranked } = await ctx.runCpuTask(
        'parameterSearch',
        {
          source,
          bars: trainBars,
          candidates,
          costPerUnit: ctx.costPerUnit,
          sandboxTimeoutMs: ctx.sandboxTimeoutMs,
        },
        {
          signal: options?.signal,
          onProgress: (done, total) => options?.onProgress?.({ step: 'ml', done, total }),
        },
      );
      const best = ranked[0]!;
      const artifact = await ctx.store.put(
        input.sagaId,
        'ml',
        JSON.stringify({
          family,
          dataset: data.name,
          method: input.params ? 'fixed' : 'grid-search',
          objective: 'annualised Sharpe on the training split, net of costs',
          params: best.params,
          trainSharpe: best.sharpe,
          candidatesEvaluated: ranked.length,
          trainPeriod: {
            from: trainBars[0]!.date,
            to: trainBars[trainBars.length - 1]!.date,
            bars: trainBars.length,
          },
          leaderboard: ranked.slice(0, 5),
        }),
        'application/json',
        { family },
      );
      ctx.log.info('parameters fitted', {
        sagaId: input.sagaId,
        params: best.params,
        trainSharpe: best.sharpe,
      });
      return { artifact, params: best.params, trainSharpe: best.sharpe, candidatesEvaluated: ranked.length };
    },

    async compensateMl(input: ArtifactCompensationInput): Promise<void> {
      await ctx.deleteArtifact(input, 'ml');
    },
  };
}

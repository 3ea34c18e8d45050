/**
 * The ml agent: fits the plan's parameters on the training split of a data set with the saga's generated code and
 * stores the model as the saga's `ml` artifact (its compensation deletes that artifact). The search itself is a
 * CPU task (./parameter-search).
 */
import type { AgentCallOptions, AgentContext } from './agent-context';
import { agentInputSchemas, parseAgentInput } from './agent-schemas';
import { inAgentSpan } from './agent-spans';
import { strategyCodeFor } from './codegen-agent';
import type { ArtifactCompensationInput, MlInput, MlOutput } from './contracts';
import { InvalidAgentInputError } from './errors';
import { SYNTHETIC_DATA_NOTE } from './market-data';
import { FAMILY_SPECS, parameterGrid } from './strategy-families';
import { trainSplitIndex, validateParams } from './strategy-params';

export function createMlAgent(ctx: AgentContext) {
  return {
    async ml(rawInput: MlInput, options?: AgentCallOptions): Promise<MlOutput> {
      const input = parseAgentInput(agentInputSchemas.ml, rawInput, 'ml');
      // The whole step (code, data set, search, model) is one phase; the search inside it is another.
      return inAgentSpan('ml', {}, async (span) => {
        const { source, family, extraWarmupBars } = await strategyCodeFor(ctx, input, 'ml');
        const spec = FAMILY_SPECS[family];
        const data = await ctx.loadDataset(input.symbol, input.dataset);
        const candidates = input.params
          ? [validateParams(family, input.params)]
          : parameterGrid(input.plan.parameterRanges).filter((p) => !spec.violates(p));
        if (candidates.length === 0) {
          throw new InvalidAgentInputError(`no parameter combination in the plan is valid for ${family}`);
        }
        const warmup = Math.max(...candidates.map((p) => spec.warmupBars(p))) + extraWarmupBars;
        const trainBars = data.bars.slice(0, trainSplitIndex(data, ctx.trainFraction, warmup, family));
        span.setAttributes({ 'agent.family': family, 'agent.dataset': data.name });
        // One span for the whole search, made here: the candidates run in a loop (maybe in a pooled thread, which has
        // no tracer), never a span each.
        const search = await inAgentSpan(
          'parameter_search',
          {
            'agent.family': family,
            'agent.candidates': candidates.length,
            'agent.folds': ctx.walkForwardFolds,
            'agent.train_bars': trainBars.length,
          },
          async (searchSpan) => {
            const found = await ctx.runCpuTask(
              'parameterSearch',
              {
                source,
                bars: trainBars,
                candidates,
                costPerUnit: ctx.costPerUnit,
                sandboxTimeoutMs: ctx.sandboxTimeoutMs,
                folds: ctx.walkForwardFolds,
                warmupBars: warmup,
              },
              {
                signal: options?.signal,
                onProgress: (done, total) => options?.onProgress?.({ step: 'ml', done, total }),
              },
            );
            // The folds the training split had room for (fewer than asked on a short data set; 0: plain grid search).
            searchSpan.setAttributes({
              'agent.folds_run': found.folds.length,
              'agent.candidates_evaluated': found.ranked.length,
            });
            return found;
          },
        );
        const { ranked, folds, inSampleBest } = search;
        const best = ranked[0]!;
        const dateOf = (i: number) => trainBars[Math.min(i, trainBars.length - 1)]!.date;
        const method = input.params ? 'fixed' : folds.length ? 'walk-forward' : 'grid-search';
        span.setAttribute('agent.method', method);
        const artifact = await ctx.store.put(
          input.sagaId,
          'ml',
          JSON.stringify({
            family,
            dataset: data.name,
            ...(data.synthetic ? { dataNote: SYNTHETIC_DATA_NOTE } : {}),
            method,
            objective: folds.length
              ? `mean annualised Sharpe, net of costs, over ${folds.length} walk-forward out-of-sample folds of ` +
                'the training split'
              : 'annualised Sharpe on the training split, net of costs (too few bars for a walk-forward fold)',
            params: best.params,
            trainSharpe: best.sharpe,
            validationSharpe: best.validationSharpe,
            candidatesEvaluated: ranked.length,
            trainPeriod: {
              from: trainBars[0]!.date,
              to: dateOf(trainBars.length - 1),
              bars: trainBars.length,
            },
            walkForward: {
              folds: folds.map((f) => ({ ...f, from: dateOf(f.from), to: dateOf(f.to - 1) })),
              // What a plain fit on the whole training split would have chosen, for comparison.
              inSampleBest: {
                params: inSampleBest.params,
                trainSharpe: inSampleBest.sharpe,
                validationSharpe: inSampleBest.validationSharpe,
              },
            },
            leaderboard: ranked.slice(0, 5),
          }),
          'application/json',
          { family },
        );
        ctx.log.info('parameters fitted', {
          sagaId: input.sagaId,
          params: best.params,
          validationSharpe: best.validationSharpe,
        });
        return {
          artifact,
          params: best.params,
          trainSharpe: best.sharpe,
          validationSharpe: best.validationSharpe,
          folds: folds.length,
          candidatesEvaluated: ranked.length,
        };
      });
    },

    async compensateMl(input: ArtifactCompensationInput): Promise<void> {
      await ctx.deleteArtifact(input, 'ml');
    },
  };
}

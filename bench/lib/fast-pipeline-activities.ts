/**
 * The research pipeline's activity interface (`PipelineActivities`) with near-instant bodies, so bench:saga and
 * bench:soak measure the saga machinery (Temporal round trips, the Saga helper, compensations) rather than the
 * agents. A saga whose symbol starts with `ROLLBACK` fails in backtest (non-retryable); the moment of that failure
 * is recorded so the rollback can be timed.
 */
import { ApplicationFailure } from '@temporalio/activity';
import {
  LOCAL_STEP_CANDIDATES,
  type LocalStepsActivities,
  type PipelineActivities,
  type PlanCacheActivities,
  type ReasoningOutput,
  type StrategyPlan,
} from '../../src/activities/research/contracts';

export const ROLLBACK_SYMBOL_PREFIX = 'ROLLBACK';

export interface FastActivities {
  activities: PipelineActivities & Partial<PlanCacheActivities & LocalStepsActivities>;
  /** sagaId → `performance.now()` when its backtest failed. */
  failedAt: Map<string, number>;
}

export function createFastPipelineActivities(): FastActivities {
  const failedAt = new Map<string, number>();
  const plan: StrategyPlan = {
    family: 'ma_crossover',
    parameterRanges: { fast: { min: 5, max: 20, step: 5 }, slow: { min: 30, max: 90, step: 20 } },
    rationale: 'benchmark plan',
    provider: 'bench',
  };
  const artifact = (sagaId: string, step: 'codegen' | 'ml' | 'backtest') => ({
    key: `bench:${sagaId}:${step}`,
    sagaId,
    step,
    bytes: 1,
  });
  const planCache = new Map<string, { createdBy: string }>();
  const fromCache = (key: string, sagaId: string): ReasoningOutput | undefined => {
    const entry = planCache.get(key);
    return entry ? { plan, cacheKey: key, cached: entry.createdBy !== sagaId } : undefined;
  };
  const activities: PipelineActivities & Partial<PlanCacheActivities & LocalStepsActivities> = {
    // In-process agents, as with `createActivities`: codegen and the compensations may run as local activities.
    async localSteps() {
      return [...LOCAL_STEP_CANDIDATES];
    },
    async cachedPlan({ sagaId, idea, symbol }) {
      return fromCache(`bench-plan:${idea}|${symbol}`, sagaId) ?? null;
    },
    async reasoning({ sagaId, idea, symbol }) {
      const key = `bench-plan:${idea}|${symbol}`;
      const hit = fromCache(key, sagaId);
      if (hit) return hit;
      planCache.set(key, { createdBy: sagaId });
      return { plan, cacheKey: key, cached: false };
    },
    async compensateReasoning({ sagaId, cacheKey }) {
      if (planCache.get(cacheKey)?.createdBy === sagaId) planCache.delete(cacheKey);
    },
    async codegen({ sagaId }) {
      return { artifact: artifact(sagaId, 'codegen') };
    },
    async compensateCodegen() {},
    async ml({ sagaId }) {
      return {
        artifact: artifact(sagaId, 'ml'),
        params: { fast: 10, slow: 50 },
        trainSharpe: 1,
        candidatesEvaluated: 1,
      };
    },
    async compensateMl() {},
    async backtest({ sagaId, symbol }) {
      if (symbol.startsWith(ROLLBACK_SYMBOL_PREFIX)) {
        failedAt.set(sagaId, performance.now());
        throw ApplicationFailure.nonRetryable('benchmark failure in backtest', 'BenchFailure');
      }
      return {
        artifact: artifact(sagaId, 'backtest'),
        metrics: {
          totalReturn: 0.1,
          sharpe: 1,
          maxDrawdown: 0.05,
          trades: 4,
          winRate: 0.5,
          exposure: 0.5,
          buyAndHoldReturn: 0.08,
          bars: 100,
        },
      };
    },
    async compensateBacktest() {},
  };
  return { activities, failedAt };
}

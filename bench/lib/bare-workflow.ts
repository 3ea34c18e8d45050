/**
 * bench:saga's peer: the same four activities as the research pipeline, called one after another by a bare
 * Temporal workflow with the same activity options, and nothing else (no Saga helper, no state query, no search
 * attributes, no memo, no timer, no compensations). What the saga costs on top is the difference. Bundled on its
 * own for a second worker on its own task queue. Deterministic code only.
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { PipelineActivities } from '../../src/activities/research/contracts';

const { reasoning, codegen, ml, backtest } = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '1 minute',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: 1000, backoffCoefficient: 2, maximumInterval: 30_000, maximumAttempts: 3 },
});

export async function bareFourActivities(input: { sagaId: string; symbol: string }): Promise<number> {
  const { sagaId, symbol } = input;
  const r = await reasoning({ sagaId, idea: 'benchmark saga', symbol });
  await codegen({ sagaId, plan: r.plan });
  const m = await ml({ sagaId, symbol, plan: r.plan });
  const b = await backtest({ sagaId, symbol, params: m.params });
  return b.metrics.sharpe;
}

/**
 * The research pipeline's agents as plain async functions. `createAgents(deps)` returns one handler per
 * `PipelineActivities` method, built from one module per agent (./reasoning-agent, ./codegen-agent, ./ml-agent,
 * ./backtest-agent, each with its compensation); the Temporal wrapper (./index.ts) and the express lane both call
 * these, passing an `AbortSignal` and a progress callback instead of the handlers touching Temporal.
 *
 * Compensation ownership: codegen, ml and backtest own their saga's artifact key, so their compensations delete it;
 * reasoning deletes a plan-cache entry only when its saga created it (see ./reasoning-agent).
 */
import { createAgentContext, type AgentCallOptions, type AgentDeps } from './agent-context';
import { ArtifactStore } from './artifact-store';
import { createBacktestAgent } from './backtest-agent';
import { createCodegenAgent } from './codegen-agent';
import type { PipelineActivities } from './contracts';
import { AgentError } from './errors';
import { createMlAgent } from './ml-agent';
import { createReasoningAgent } from './reasoning-agent';

export {
  DEFAULT_DATA_DIR,
  agentDepsFromConfig,
  type AgentDeps,
  type AgentCallOptions,
  type AgentProgress,
} from './agent-context';
export { planCacheKey } from './reasoning-agent';
export { MIN_EVALUATION_BARS, validateParams } from './strategy-params';

export type AgentHandlers = {
  [K in keyof PipelineActivities]: (
    input: Parameters<PipelineActivities[K]>[0],
    options?: AgentCallOptions,
  ) => ReturnType<PipelineActivities[K]>;
};

export function createAgents(deps: AgentDeps): AgentHandlers {
  const ctx = createAgentContext(deps);
  return {
    ...createReasoningAgent(ctx),
    ...createCodegenAgent(ctx),
    ...createMlAgent(ctx),
    ...createBacktestAgent(ctx),
  };
}

/** The saga's stored artifacts (codegen, ml, backtest that exist), without their bodies. */
export function listArtifacts(deps: Pick<AgentDeps, 'redis' | 'keyPrefix'>, sagaId: string) {
  return new ArtifactStore(deps.redis, deps.keyPrefix).list(sagaId);
}

export { AgentError };

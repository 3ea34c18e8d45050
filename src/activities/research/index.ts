/**
 * The agents as Temporal activities: the one place that knows about Temporal. Each activity passes the activity's
 * cancellation signal to its handler (so a cancel or a lost worker stops long work), heartbeats the handler's
 * progress, and turns agent errors into ApplicationFailures: bad input, bad data and failing generated code are
 * non-retryable (with the error's type), transient trouble (LLM timeouts, Redis hiccups) stays retryable.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { openRedis, type Config, type Logger, type RedisClient } from '../../core';
import {
  agentDepsFromConfig,
  createAgents,
  type AgentCallOptions,
  type AgentDeps,
  type AgentHandlers,
} from './agents';
import {
  LOCAL_STEP_CANDIDATES,
  type LocalStepsActivities,
  type PipelineActivities,
  type PlanCacheActivities,
} from './contracts';
import { createPlanCacheActivities } from './plan-cache';
import { AgentError } from './errors';

export { createAgents, agentDepsFromConfig, listArtifacts, DEFAULT_DATA_DIR } from './agents';
export type { AgentDeps, AgentHandlers, AgentCallOptions, AgentProgress } from './agents';
export * from './errors';

/** Converts an agent error to the failure Temporal records; anything else is rethrown as is (retryable). */
export function toActivityFailure(err: unknown, signal?: AbortSignal): unknown {
  // After a cancel the SDK expects the cancellation itself, so the activity is reported as cancelled.
  if (signal?.aborted) return signal.reason ?? err;
  if (err instanceof AgentError) {
    const details = err.details ? [err.details] : [];
    return err.retryable
      ? ApplicationFailure.retryable(err.message, err.type, ...details)
      : ApplicationFailure.nonRetryable(err.message, err.type, ...details);
  }
  return err;
}

/** Heartbeats are throttled by the SDK; details carry the latest progress for the Temporal UI and retries. */
function temporalCallOptions(): AgentCallOptions {
  const ctx = Context.current();
  return {
    signal: ctx.cancellationSignal,
    onProgress: (progress) => ctx.heartbeat(progress),
  };
}

/**
 * The process-configuration shortcut: agents built from `config`, on `redis` if given, else on a Redis connection
 * opened here that lives as long as the process (a worker process). Prefer passing `AgentDeps` with a Redis client
 * you close yourself when the activities can outlive their user (tests, embedding).
 */
export interface ActivitiesFromConfig {
  config: Config;
  logger?: Logger;
  redis?: RedisClient;
}

export function createActivities(
  deps: AgentDeps | ActivitiesFromConfig,
): PipelineActivities & PlanCacheActivities & LocalStepsActivities {
  const agentDeps =
    'config' in deps
      ? agentDepsFromConfig(deps.config, deps.redis ?? openRedis(deps.config.redisUrl), deps.logger)
      : deps;
  const agents = createAgents(agentDeps);
  const wrap = <K extends keyof AgentHandlers>(name: K): PipelineActivities[K] => {
    const handler = agents[name] as (input: unknown, options?: AgentCallOptions) => Promise<unknown>;
    const activity = async (input: unknown) => {
      const options = temporalCallOptions();
      try {
        return await handler(input, options);
      } catch (err) {
        throw toActivityFailure(err, options.signal);
      }
    };
    // Temporal registers activities under the function's property name; keep a readable name for stack traces.
    Object.defineProperty(activity, 'name', { value: name });
    return activity as PipelineActivities[K];
  };
  return {
    reasoning: wrap('reasoning'),
    compensateReasoning: wrap('compensateReasoning'),
    codegen: wrap('codegen'),
    compensateCodegen: wrap('compensateCodegen'),
    ml: wrap('ml'),
    compensateMl: wrap('compensateMl'),
    backtest: wrap('backtest'),
    compensateBacktest: wrap('compensateBacktest'),
    // The reasoning step's cache lookup, run by the workflow as a local activity (src/activities/research/plan-cache.ts).
    ...createPlanCacheActivities(agentDeps),
    // These agents run in this worker: the workflow may run the quick step and the compensations locally.
    localSteps: async () => [...LOCAL_STEP_CANDIDATES],
  };
}

/**
 * The flagship saga: an idea about a market becomes a tested trading strategy.
 * `pending → reasoning → codegen → ml → [awaiting_approval →] backtest → completed`; on failure, cancel, rejection or
 * timeout
 * `compensating → rolled_back | failed`. The agents are activities (src/activities); this file only orchestrates.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  upsertMemo,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import {
  LOCAL_STEP_CANDIDATES,
  type LocalStep,
  type LocalStepsActivities,
  type PipelineActivities,
  type PlanCacheActivities,
  type ReasoningInput,
} from '../../activities/research/contracts';
import type { PipelineInput, PipelineTuning } from './pipeline-contract';
import { PIPELINE_APPROVAL_STEP, type PipelineResult } from './pipeline-definitions';
// Not zod (`pipelineInputSchema`): evaluating zod in every workflow run cost ~14 ms of its first workflow task.
import { validatePipelineInput, validatePipelineTuning } from './pipeline-input-validation';
import {
  DEFAULT_APPROVAL_TIMEOUT_MS,
  DEFAULT_SAGA_TIMEOUT_MS,
  FEWER_COMMANDS_PATCH,
  SAGA_V2_PATCH,
  Saga,
  laneHint,
  type SagaPriority,
} from '../public';

/** Production defaults of the per-step activity options; `PipelineTuning` overrides a few for tests. */
export const PIPELINE_DEFAULTS = {
  heartbeatTimeoutMs: 30_000,
  retryInitialIntervalMs: 1_000,
  stepMaximumAttempts: 3,
  compensationMaximumAttempts: 5,
} as const satisfies Required<PipelineTuning>;

/**
 * Versioning (`patched`): sagas started by this code look the plan up in the plan cache with the `cachedPlan` local
 * activity before the saga body (in the first workflow task) and skip the `reasoning` activity on a hit. Sagas
 * started by the first version of this (`PLAN_CACHE_LOCAL_PATCH_V1`, commit 2cd20fa: the lookup inside the reasoning
 * step) replay through that branch; older sagas replay without the lookup. (v2, commit d923209, asked its patch after
 * a local activity, which does not replay when that activity resolves in a later workflow task: withdrawn.)
 */
export const PLAN_CACHE_LOCAL_PATCH = 'sagalane-plan-cache-local-v3';
export const PLAN_CACHE_LOCAL_PATCH_V1 = 'sagalane-plan-cache-local-v1';

/**
 * The plan-cache lookup runs inside the workflow task (one Redis GET); one attempt, since a miss, an error or a worker
 * without `cachedPlan` all mean the same: run the `reasoning` activity.
 */
const { cachedPlan } = proxyLocalActivities<PlanCacheActivities>({
  startToCloseTimeout: '5 seconds',
  retry: { maximumAttempts: 1 },
});

/**
 * Versioning (`patched`): sagas started by this code ask the worker (local activity `localSteps`) which steps it runs
 * in-process, and run those as local activities inside the workflow task instead of scheduling an activity: with
 * in-worker agents the quick `codegen` step and the compensations (one Redis call each). A lane-dispatching worker
 * (or one without `localSteps`) answers none, so its steps stay activities dispatched to the lane. The answer is
 * recorded in the history, so a replay takes the same branch whatever the replaying worker would answer. (v1, commit
 * d923209, asked the plan-cache patch after this local activity: withdrawn, see the comment where both are asked.)
 */
export const LOCAL_STEPS_PATCH = 'sagalane-local-steps-v2';

const { localSteps: askLocalSteps } = proxyLocalActivities<LocalStepsActivities>({
  startToCloseTimeout: '5 seconds',
  retry: { maximumAttempts: 1 },
});

/**
 * A local activity that ran and failed (its marker records the failure, so a replay meets the same): the pipeline
 * goes on without it. Anything else is rethrown: a cancellation, and the SDK's error for a local activity the worker
 * has not registered, which fails the workflow task (nothing recorded) until a worker that has it picks the task up.
 * Falling back there instead would not replay: on replay the SDK waits for the never-written marker.
 */
function ranAndFailed(err: unknown): boolean {
  return err instanceof ActivityFailure && !isCancellation(err);
}

/** Failure type of a researchPipeline started with input that does not match `pipelineInputSchema`. */
export const INVALID_PIPELINE_INPUT_FAILURE = 'InvalidPipelineInput';

export async function researchPipeline(
  input: PipelineInput,
  tuning: PipelineTuning = {},
): Promise<PipelineResult> {
  const parsedInput = validatePipelineInput(input);
  if (!parsedInput.success) {
    throw ApplicationFailure.nonRetryable(
      `invalid researchPipeline input: ${parsedInput.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`,
      INVALID_PIPELINE_INPUT_FAILURE,
    );
  }
  const parsedTuning = validatePipelineTuning(tuning ?? {});
  if (!parsedTuning.success) {
    throw ApplicationFailure.nonRetryable(
      `invalid researchPipeline tuning: ${parsedTuning.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      INVALID_PIPELINE_INPUT_FAILURE,
    );
  }
  const { idea, symbol, dataset, params, strict, timeoutMs, approval, approvalTimeoutMs, priority } =
    parsedInput.data;
  const agents = pipelineAgents({ ...PIPELINE_DEFAULTS, ...parsedTuning.data }, priority);
  // The memo must be right whoever started the saga; SagaClient sets it at start, so newer sagas skip the command
  // when it is already there.
  // One patch for sagas started by this code (SAGA_V2_PATCH: one marker and one core-made upsert instead of three
  // of each); older sagas replay through the individual patches, in the order they were asked then.
  const v2 = patched(SAGA_V2_PATCH);
  const memo = workflowInfo().memo ?? {};
  if (!(v2 || patched(FEWER_COMMANDS_PATCH)) || memo.idea !== idea || memo.symbol !== symbol)
    upsertMemo({ idea, symbol });

  const saga = new Saga<PipelineResult>({ timeoutMs: timeoutMs ?? DEFAULT_SAGA_TIMEOUT_MS });
  const sagaId = workflowInfo().workflowId;
  // `strict` only when given, so the activity input of sagas started without it stays as it was.
  const reasoningInput: ReasoningInput = {
    sagaId,
    idea,
    symbol,
    ...(strict === undefined ? {} : { strict }),
  };
  // Every `patched()` of the first workflow task is asked before its first await: a local activity can finish in a
  // later workflow task than the one that scheduled it (a query or update completes the task meanwhile), and on
  // replay a patch asked only after it resolves is not known yet where its marker is (a nondeterminism error; seen
  // in test/sagas/research-pipeline.test.ts with queries during the first task).
  const localStepsPatched = v2 || patched(LOCAL_STEPS_PATCH);
  const lookedUpFirst = strict !== true && (v2 || patched(PLAN_CACHE_LOCAL_PATCH));
  // A plan-cache hit needs no agent: a local activity answers in this workflow task. A strict saga's plan is checked
  // by the agent, so it skips the lookup (no marker in its history either).
  const lookUpPlan = () =>
    cachedPlan(reasoningInput).catch((err: unknown) => {
      if (!ranAndFailed(err)) throw err;
      return null;
    });
  // The local activities run before the saga body, in the first workflow task: a worker that has not registered
  // them fails that task (an error outside the body is not rolled back as a step failure; see `ranAndFailed`).
  // Sagas of SAGA_V2_PATCH schedule both at once (one round trip to core instead of two in a row); older ones
  // replay them one after the other.
  const early = v2 && lookedUpFirst ? lookUpPlan() : undefined;
  // Awaited below; handled here so a failure of `localSteps` first never leaves this one unhandled.
  early?.catch(() => undefined);
  if (localStepsPatched) {
    const answer: unknown = await askLocalSteps().catch((err: unknown) => {
      if (!ranAndFailed(err)) throw err;
      return [];
    });
    const candidates: readonly unknown[] = LOCAL_STEP_CANDIDATES;
    if (Array.isArray(answer))
      agents.useLocal(answer.filter((step: unknown): step is LocalStep => candidates.includes(step)));
  }
  const cachedReasoning = lookedUpFirst ? await (early ?? lookUpPlan()) : null;
  return saga.run(async () => {
    const reasoning = await saga.step(
      'reasoning',
      async () => {
        if (cachedReasoning) return cachedReasoning;
        // Only sagas recorded by the v1 code take this branch (new ones have the v3 marker, or are strict).
        if (!lookedUpFirst && strict !== true && patched(PLAN_CACHE_LOCAL_PATCH_V1)) {
          const hit = await lookUpPlan();
          if (hit) return hit;
        }
        return agents.reasoning(reasoningInput);
      },
      (out) => agents.compensateReasoning({ sagaId, cacheKey: out.cacheKey }),
    );
    const codegen = await saga.step(
      'codegen',
      () => agents.codegen({ sagaId, plan: reasoning.plan }),
      () => agents.compensateCodegen({ sagaId }),
    );
    const ml = await saga.step(
      'ml',
      () => agents.ml({ sagaId, symbol, dataset, plan: reasoning.plan, params }),
      () => agents.compensateMl({ sagaId }),
    );
    if (approval === 'before_backtest') {
      await saga.approval(PIPELINE_APPROVAL_STEP, {
        timeoutMs: approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS,
      });
    }
    const backtest = await saga.step(
      'backtest',
      () => agents.backtest({ sagaId, symbol, dataset, params: ml.params }),
      () => agents.compensateBacktest({ sagaId }),
    );
    return {
      sagaId,
      plan: reasoning.plan,
      artifacts: { code: codegen.artifact.key, model: ml.artifact.key, report: backtest.artifact.key },
      params: ml.params,
      metrics: backtest.metrics,
    };
  });
}

/**
 * The agents with per-step timeouts, heartbeats and retry policies; `useLocal(steps)` switches those steps to local
 * activities with the same timeout and retry policy.
 */
function pipelineAgents(
  t: Required<PipelineTuning>,
  priority?: SagaPriority,
): PipelineActivities & { useLocal(steps: readonly LocalStep[]): void } {
  const retry = (maximumAttempts: number): ActivityOptions['retry'] => ({
    initialInterval: t.retryInitialIntervalMs,
    backoffCoefficient: 2,
    maximumInterval: Math.max(t.retryInitialIntervalMs * 30, 1_000),
    maximumAttempts,
  });
  // Every step waits for its activity to acknowledge a cancel (or to finish) before the rollback starts, so nothing
  // keeps writing behind the compensations; a step that finished anyway is compensated like any other.
  const quick: ActivityOptions = {
    startToCloseTimeout: '1 minute',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: retry(t.stepMaximumAttempts),
  };
  // Long steps heartbeat, so a dead worker is noticed after heartbeatTimeout rather than startToCloseTimeout, and a
  // cancel reaches them within one heartbeat.
  const long = (startToCloseTimeout: string): ActivityOptions => ({
    startToCloseTimeout,
    heartbeatTimeout: t.heartbeatTimeoutMs,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: retry(t.stepMaximumAttempts),
  });
  const compensation: ActivityOptions = {
    startToCloseTimeout: '30 seconds',
    retry: retry(t.compensationMaximumAttempts),
  };
  const { reasoning, codegen } = proxyActivities<PipelineActivities>(quick);
  const { ml } = proxyActivities<PipelineActivities>(long('10 minutes'));
  const { backtest } = proxyActivities<PipelineActivities>(long('5 minutes'));
  const { compensateReasoning, compensateCodegen, compensateMl, compensateBacktest } =
    proxyActivities<PipelineActivities>(compensation);
  // An express saga's steps ask a lane-dispatching saga worker for the express lane (compensations always get it).
  // Only passed when asked for: sagas without a priority schedule exactly the activities they always did.
  const onLane = <I, O>(step: (input: I) => Promise<O>): ((input: I) => Promise<O>) => {
    if (priority !== 'express') return step;
    const hint = laneHint('express');
    return (input) => (step as (input: I, hint: unknown) => Promise<O>)(input, hint);
  };
  const remote: PipelineActivities = {
    reasoning: onLane(reasoning),
    codegen: onLane(codegen),
    ml: onLane(ml),
    backtest: onLane(backtest),
    compensateReasoning,
    compensateCodegen,
    compensateMl,
    compensateBacktest,
  };
  const local = {
    codegen: proxyLocalActivities<PipelineActivities>({
      startToCloseTimeout: quick.startToCloseTimeout,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry: quick.retry,
    }).codegen,
    ...pickCompensations(
      proxyLocalActivities<PipelineActivities>({
        startToCloseTimeout: compensation.startToCloseTimeout,
        retry: compensation.retry,
      }),
    ),
  };
  const agents = { ...remote };
  return Object.assign(agents, {
    useLocal(steps: readonly LocalStep[]) {
      for (const step of steps) (agents as Record<LocalStep, unknown>)[step] = local[step];
    },
  });
}

function pickCompensations(a: PipelineActivities) {
  const { compensateReasoning, compensateCodegen, compensateMl, compensateBacktest } = a;
  return { compensateReasoning, compensateCodegen, compensateMl, compensateBacktest };
}

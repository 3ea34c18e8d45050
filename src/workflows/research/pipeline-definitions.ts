/**
 * The zod-free half of the research pipeline's contract: its names, states, steps and result. The contract every
 * saga shares (the `state` query's shape, cancel, approvals) is sagalane's (`sagalane/workflows`, ../saga-contract.ts).
 * Workflow code imports this module rather than `./pipeline-contract`, so zod stays out of the workflow bundle: with
 * `reuseV8Context` the SDK evaluates a workflow's modules once per workflow run, and evaluating zod plus the schemas
 * cost ~14 ms of the first workflow task of every saga. `./pipeline-contract` re-exports all of this.
 */
import { sagaSteps, type SagaStateView } from '../public';
import type { BacktestMetrics, StrategyPlan } from '../../activities/research/contracts';

export const RESEARCH_PIPELINE_WORKFLOW = 'researchPipeline';
/** `approval` of the pipeline input: no gate, or a human approves the model before the backtest runs. */
export const PIPELINE_APPROVALS = ['none', 'before_backtest'] as const;
export type PipelineApproval = (typeof PIPELINE_APPROVALS)[number];
/** Name of the pipeline's approval gate (a step in its state). */
export const PIPELINE_APPROVAL_STEP = 'approve_backtest';

export const SAGA_STATES = [
  'pending',
  'reasoning',
  'codegen',
  'ml',
  'backtest',
  'awaiting_approval',
  'completed',
  'compensating',
  'rolled_back',
  'failed',
] as const;
export type SagaStateName = (typeof SAGA_STATES)[number];
export const TERMINAL_SAGA_STATES: readonly SagaStateName[] = ['completed', 'rolled_back', 'failed'];

/**
 * The pipeline's steps and their compensations, declared once: the lane dispatch, the lane's step task types and the
 * catalog derive from this. codegen is the quick step a worker may offer as a local (awaited) step.
 */
export const PIPELINE_SAGA_STEPS = sagaSteps({
  reasoning: { compensation: 'compensateReasoning' },
  codegen: { compensation: 'compensateCodegen', local: true },
  ml: { compensation: 'compensateMl' },
  backtest: { compensation: 'compensateBacktest' },
});

/** The pipeline's steps, in the order they run. */
export const PIPELINE_STEPS = Object.keys(PIPELINE_SAGA_STEPS) as (keyof typeof PIPELINE_SAGA_STEPS)[];
export type PipelineStep = (typeof PIPELINE_STEPS)[number];

export interface PipelineResult {
  sagaId: string;
  plan: StrategyPlan;
  artifacts: { code: string; model: string; report: string };
  params: Record<string, number>;
  metrics: BacktestMetrics;
}

/** The research pipeline's `state` query answer: its step names as states and its result. */
export type PipelineStateView = SagaStateView<PipelineResult, SagaStateName>;

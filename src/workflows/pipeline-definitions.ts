/**
 * The zod-free half of the saga contract: names, constants, the `state` query's shape and the cancel update/signal.
 * Workflow code imports this module rather than `./pipeline-contract`, so zod stays out of the workflow bundle: with
 * `reuseV8Context` the SDK evaluates a workflow's modules once per workflow run, and evaluating zod plus the schemas
 * cost ~14 ms of the first workflow task of every saga. `./pipeline-contract` re-exports all of this.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BacktestMetrics, StrategyPlan } from '../activities/contracts';
import type { StepLane } from './lane-step';

export const RESEARCH_PIPELINE_WORKFLOW = 'researchPipeline';
export const DEFAULT_SAGA_TIMEOUT_MS = 60_000;

export const SAGA_STATES = [
  'pending',
  'reasoning',
  'codegen',
  'ml',
  'backtest',
  'completed',
  'compensating',
  'rolled_back',
  'failed',
] as const;
export type SagaStateName = (typeof SAGA_STATES)[number];
export const TERMINAL_SAGA_STATES: readonly SagaStateName[] = ['completed', 'rolled_back', 'failed'];

/** The pipeline's steps, in the order they run. */
export const PIPELINE_STEPS = ['reasoning', 'codegen', 'ml', 'backtest'] as const;
export type PipelineStep = (typeof PIPELINE_STEPS)[number];

export type StepStatus = 'running' | 'completed' | 'failed' | 'cancelled';
export interface StepRecord {
  name: string;
  status: StepStatus;
  attempts: number;
  startedAt: string;
  finishedAt?: string;
  /** Lane-dispatched steps: the lane and the lane task that ran the step (`sagalane task get <taskId>`). */
  lane?: StepLane;
  taskId?: string;
}
export type CompensationStatus = 'completed' | 'failed';
export interface CompensationRecord {
  step: string;
  status: CompensationStatus;
  error?: string;
  /** Lane-dispatched compensations: where the compensation ran. */
  lane?: StepLane;
  taskId?: string;
}
export interface SagaError {
  message: string;
  /** The step that failed, when a step failed. */
  step?: string;
  /** Why the saga is rolling back: a step failure, a cancel request or the saga timeout. */
  reason: 'step_failed' | 'cancelled' | 'timeout';
  /** The text given to `cancel(reason)`. */
  cancelReason?: string;
}

export interface PipelineResult {
  sagaId: string;
  plan: StrategyPlan;
  artifacts: { code: string; model: string; report: string };
  params: Record<string, number>;
  metrics: BacktestMetrics;
}

/**
 * What the `state` query returns. The defaults describe the researchPipeline; a user's own saga (built with the
 * `Saga` helper) has its own step names as states and its own result type.
 */
export interface SagaStateView<TResult = PipelineResult, TState extends string = SagaStateName> {
  sagaId: string;
  runId: string;
  workflowType: string;
  state: TState;
  currentStep?: string;
  steps: StepRecord[];
  compensations: CompensationRecord[];
  error?: SagaError;
  result?: TResult;
}

export const stateQuery = defineQuery<SagaStateView>('state');
/** Cancel and roll back; resolves once the cancel is accepted (not once the rollback finished). */
export const cancelUpdate = defineUpdate<{ accepted: boolean; state: SagaStateName }, [string]>('cancel');
/** The same for `temporal workflow signal --name cancel --input '"reason"'`. */
export const cancelSignal = defineSignal<[string]>('cancel');

/**
 * The public face of a saga: its input, the `state` query's shape, and the cancel update/signal. Clients (SagaClient,
 * MCP, CLI) and workflows both import this module, so it holds deterministic code only (types, zod schemas and
 * Temporal handler definitions).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { BacktestMetrics, StrategyPlan } from '../activities/contracts';

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

export const pipelineInputSchema = z
  .object({
    idea: z.string().trim().min(3, 'idea must say something (at least 3 characters)').max(2000),
    symbol: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9._-]{1,20}$/, 'symbol must be 1-20 letters, digits, dot, dash or underscore'),
    /** Data set name in `data/` or a path to an OHLCV CSV; default: the symbol's sample set. */
    dataset: z.string().trim().min(1).max(500).optional(),
    /** Fixed strategy parameters (skip the search). */
    params: z.record(z.string(), z.number().finite()).optional(),
    /** Saga timeout; on expiry the saga rolls back with reason `timeout`. */
    timeoutMs: z.number().int().min(100).max(86_400_000).optional(),
  })
  .strict();
export type PipelineInput = z.infer<typeof pipelineInputSchema>;

/** The pipeline's steps, in the order they run. */
export const PIPELINE_STEPS = ['reasoning', 'codegen', 'ml', 'backtest'] as const;
export type PipelineStep = (typeof PIPELINE_STEPS)[number];

/**
 * Workflow id of a research pipeline: `pipeline-<symbol>-<uuid>`. The uuid comes from the caller (a workflow must
 * not make one up), so starting twice with the same id finds the running saga instead of starting a second one.
 */
export function pipelineWorkflowId(symbol: string, uuid: string = globalThis.crypto.randomUUID()): string {
  const parsed = pipelineInputSchema.shape.symbol.safeParse(symbol);
  if (!parsed.success)
    throw new Error(`invalid symbol ${JSON.stringify(symbol)}: ${parsed.error.issues[0]?.message}`);
  return `pipeline-${parsed.data}-${uuid}`;
}

/**
 * Optional second argument of `researchPipeline`: operational knobs that are not part of the research request. Tests
 * shorten heartbeat and retry timings with it so a dead worker is noticed in seconds; production uses the defaults.
 */
export const pipelineTuningSchema = z
  .object({
    /** Heartbeat timeout of the long steps (ml, backtest). @defaultValue 30 s */
    heartbeatTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
    /** First retry delay of a failed step. @defaultValue 1 s */
    retryInitialIntervalMs: z.number().int().min(10).max(600_000).optional(),
    /** Attempts per step, retries included. @defaultValue 3 */
    stepMaximumAttempts: z.number().int().min(1).max(100).optional(),
    /** Attempts per compensation, retries included. @defaultValue 5 */
    compensationMaximumAttempts: z.number().int().min(1).max(100).optional(),
  })
  .strict();
export type PipelineTuning = z.infer<typeof pipelineTuningSchema>;

export type StepStatus = 'running' | 'completed' | 'failed' | 'cancelled';
export interface StepRecord {
  name: string;
  status: StepStatus;
  attempts: number;
  startedAt: string;
  finishedAt?: string;
}
export type CompensationStatus = 'completed' | 'failed';
export interface CompensationRecord {
  step: string;
  status: CompensationStatus;
  error?: string;
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

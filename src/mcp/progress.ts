/**
 * What a saga transition looks like to an MCP client: the `notifications/progress` values (progress, total,
 * "step n of m: name") and the task status a saga state maps to. Pure functions, so the mapping is unit-tested
 * without a server.
 */
import type { TaskStatus } from '@modelcontextprotocol/sdk/types.js';
import { PIPELINE_STEPS, RESEARCH_PIPELINE_WORKFLOW } from '../workflows/research/pipeline-contract';
import { type SagaError } from '../workflows/saga-contract';

/** One transition as a saga publishes it (its `SagaState` / `SagaStep` search attributes). */
export interface SagaTransition {
  state: string;
  step?: string;
}

export interface ProgressUpdate {
  progress: number;
  /** Known for the research pipeline (pending, its steps, the end); absent once it rolls back. */
  total?: number;
  message: string;
}

const NON_STEP_STATES = new Set([
  'pending',
  'awaiting_approval',
  'compensating',
  'completed',
  'rolled_back',
  'failed',
]);

/** The step names of a saga type, when sagalane knows them. */
export function stepsOf(workflowType: string | undefined): readonly string[] | undefined {
  return workflowType === RESEARCH_PIPELINE_WORKFLOW ? PIPELINE_STEPS : undefined;
}

/**
 * The progress notification for a transition. `progress` always grows (the spec requires it): it is the natural
 * position (1 = pending, n + 1 = step n, m + 2 = completed) or one more than the previous value, whichever is larger.
 */
export function progressOf(
  transition: SagaTransition,
  options: { workflowType?: string; previous: number; stepsSeen: readonly string[] },
): ProgressUpdate {
  const update = naturalProgress(transition, options);
  // Extra transitions (an approval gate) can carry progress past the total: then the total is not known after all.
  return update.total !== undefined && update.progress > update.total
    ? { ...update, total: undefined }
    : update;
}

function naturalProgress(
  transition: SagaTransition,
  options: { workflowType?: string; previous: number; stepsSeen: readonly string[] },
): ProgressUpdate {
  const steps = stepsOf(options.workflowType);
  const total = steps ? steps.length + 2 : undefined;
  const next = (natural: number) => Math.max(options.previous + 1, natural);
  const { state, step } = transition;
  if (state === 'pending')
    return { progress: next(1), total, message: 'pending: waiting for a saga worker to start it' };
  if (state === 'completed') return { progress: next(total ?? 0), total, message: 'completed' };
  if (state === 'compensating')
    return {
      progress: next(0),
      message: `compensating: rolling back the finished steps${step ? ` (stopped at ${step})` : ''}`,
    };
  if (state === 'rolled_back')
    return { progress: next(0), message: 'rolled_back: every finished step was undone' };
  if (state === 'failed')
    return { progress: next(0), message: 'failed: a compensation failed, see get_saga' };
  if (state === 'awaiting_approval')
    return {
      progress: next(0),
      total,
      message: `awaiting_approval${step ? ` (${step})` : ''}: waiting for approve_saga or reject_saga`,
    };
  if (!NON_STEP_STATES.has(state) && state === (step ?? state)) {
    const index = steps ? steps.indexOf(state) : -1;
    if (steps && index >= 0)
      return { progress: next(index + 2), total, message: `step ${index + 1} of ${steps.length}: ${state}` };
    // A known saga type in a state that is not one of its steps (e.g. its approval gate being answered).
    if (steps) return { progress: next(0), total, message: state };
    const n = options.stepsSeen.includes(state)
      ? options.stepsSeen.indexOf(state) + 1
      : options.stepsSeen.length + 1;
    return { progress: next(n + 1), total, message: `step ${n}: ${state}` };
  }
  // A state that is not a step (e.g. a saga waiting for an approval).
  return { progress: next(0), total, message: step ? `${state} (step ${step})` : state };
}

/** A short line for a task's `statusMessage` while it works. */
export function workingMessage(transition: SagaTransition, workflowType?: string): string {
  return progressOf(transition, { workflowType, previous: 0, stepsSeen: [] }).message;
}

/**
 * The MCP task status of a saga: `working` while it runs or compensates, `completed`, `cancelled` when it was
 * cancelled (even while its rollback still runs: the task is over for the client, the rollback goes on in Temporal),
 * `failed` for rolled_back / failed and closed runs without a saga state (terminated, timed out).
 */
export function taskStatusOf(saga: {
  state: string;
  running: boolean;
  error?: Pick<SagaError, 'reason'>;
  cancelRequested?: boolean;
}): TaskStatus {
  if (saga.cancelRequested || saga.error?.reason === 'cancelled') return 'cancelled';
  if (saga.state === 'completed') return 'completed';
  if (saga.state === 'rolled_back' || saga.state === 'failed') return 'failed';
  return saga.running ? 'working' : 'failed';
}

/** Express-lane statuses as the lane writes them: a failed attempt goes back to `queued` until it retries. */
export function laneTaskStatusOf(status: string): TaskStatus {
  if (status === 'succeeded') return 'completed';
  if (status === 'dead') return 'failed';
  return 'working';
}

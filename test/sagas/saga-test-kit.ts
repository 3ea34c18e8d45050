/** Shared set-up of the saga tests: a worker with the test agents, recording sinks, and polling helpers. */
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { InjectedSinks } from '@temporalio/worker';
import {
  RESEARCH_PIPELINE_WORKFLOW,
  pipelineWorkflowId,
  type PipelineInput,
  type PipelineTuning,
} from '../../src/workflows/research/pipeline-contract';
import { stateQuery, type SagaStateView } from '../../src/workflows/saga-contract';
import { SAGA_METRICS_SINK, type SagaSinks } from '../../src/workflows/saga-sinks';
import { waitFor } from '../helpers/wait';

/** Short timings so failed steps, cancels and dead workers are noticed in a second or two. */
export const FAST_TUNING: PipelineTuning = {
  heartbeatTimeoutMs: 2_000,
  retryInitialIntervalMs: 50,
  compensationMaximumAttempts: 3,
};

export interface SinkEvent {
  sagaId: string;
  name: string;
  event: Record<string, unknown>;
}

/** Sinks that record every event, to check what the metrics hook receives. */
export function recordingSinks(events: SinkEvent[]): InjectedSinks<SagaSinks> {
  const rec = (name: string) => ({
    fn: (info: { workflowId: string }, event: object) => {
      events.push({ sagaId: info.workflowId, name, event: { ...event } });
    },
    callDuringReplay: false,
  });
  return {
    [SAGA_METRICS_SINK]: {
      sagaStarted: rec('sagaStarted'),
      stateTransition: rec('stateTransition'),
      stepFinished: rec('stepFinished'),
      compensationFinished: rec('compensationFinished'),
      sagaEnded: rec('sagaEnded'),
    },
  };
}

export async function startPipeline(
  client: Client,
  taskQueue: string,
  input: PipelineInput,
  opts: { workflowId?: string; tuning?: PipelineTuning } = {},
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const tuning = opts.tuning ?? FAST_TUNING;
  return client.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
    taskQueue,
    workflowId: opts.workflowId ?? pipelineWorkflowId(input.symbol, randomUUID()),
    args: [input, tuning],
    memo: { idea: input.idea, symbol: input.symbol },
  });
}

export async function queryState(handle: WorkflowHandle): Promise<SagaStateView> {
  return handle.query(stateQuery);
}

/** Polls the `state` query until `predicate` holds (a real saga moves on its own; we only watch). */
export async function waitForState(
  handle: WorkflowHandle,
  predicate: (s: SagaStateView) => boolean,
  timeoutMs = 20_000,
): Promise<SagaStateView> {
  let last: SagaStateView | undefined;
  return waitFor(
    () => `saga ${handle.workflowId} to reach the expected state; last: ${JSON.stringify(last)}`,
    async () => {
      // Before the first workflow task has run the query fails: waitFor tries again.
      last = await queryState(handle);
      return predicate(last) && last;
    },
    timeoutMs,
  );
}

/** The failure a saga ended with (its workflow result must be a failure). */
export async function failureOf(
  handle: WorkflowHandle,
): Promise<Error & { cause?: Error & { type?: string } }> {
  try {
    await handle.result();
  } catch (err) {
    return err as Error & { cause?: Error & { type?: string } };
  }
  throw new Error(`saga ${handle.workflowId} completed, expected a failure`);
}

/**
 * Starting a saga of the catalog: the input checked against its declaration's schema (the error names each field and
 * rule), the workflow id, memo and priority taken from the declaration, the Temporal priority key from the priority.
 * `SagaClient.start` and `startPipeline` both come here, so every front door starts every saga the same way.
 */
import { randomUUID } from 'node:crypto';
import { context, type Context } from '@opentelemetry/api';
import type { Client } from '@temporalio/client';
import { kebabCase, type SagaDefinition } from '../catalog/define-saga';
import type { SagaPriority } from '../dispatch/lane-step';
import { pipelineInputSchema, type PipelineInput } from '../workflows/research/pipeline-contract';
import { InvalidPipelineInputError, SagaClientOptionsError } from './errors';

export interface StartSagaOptions {
  /** Workflow id. Starting again with the id of a running saga returns that saga. @defaultValue the declaration's */
  workflowId?: string;
  /** Arguments after the input (the research pipeline's `tuning`). @defaultValue none */
  extraArgs?: unknown[];
  /** Overrides the priority the declaration reads from the input. */
  priority?: SagaPriority;
  /** More memo fields beside the declaration's (e.g. the caller's W3C `traceparent`). */
  memo?: Record<string, unknown>;
  /**
   * The trace the saga joins (an OpenTelemetry `Context`). @defaultValue the active context. Taken into the
   * workflow's headers by Temporal's tracing interceptor, on the clients sagalane opens while tracing is on.
   */
  parentContext?: Context;
}

export interface StartedSaga {
  sagaId: string;
  /** Run id of the running saga (the existing one when the id was already in use). */
  runId: string;
  /** The first workflow task went to this process's saga worker in the start reply (eager workflow start). */
  eagerlyStarted: boolean;
}

/** What the client brings to a start: where, whether eagerly, and the priority key of each priority. */
export interface StartTarget {
  client: Client;
  taskQueue: string;
  eagerStart: boolean;
  priorityKey(priority: SagaPriority): number | undefined;
}

/** Starts `saga` with an input already checked against its schema. */
export async function startCheckedSaga<I>(
  target: StartTarget,
  saga: SagaDefinition<I>,
  input: I,
  options: StartSagaOptions = {},
): Promise<StartedSaga> {
  const uuid = randomUUID();
  const workflowId =
    options.workflowId ?? saga.workflowId?.(input, uuid) ?? `${kebabCase(saga.type)}-${uuid}`;
  if (!workflowId.trim()) throw new SagaClientOptionsError('workflowId must not be empty');
  const priority = options.priority ?? saga.priority?.(input) ?? 'standard';
  const priorityKey = target.priorityKey(priority);
  const memo = { ...saga.memo?.(input), ...options.memo };
  const start = () =>
    target.client.workflow.start(saga.type, {
      taskQueue: target.taskQueue,
      workflowId,
      args: [input, ...(options.extraArgs ?? [])],
      ...(memo && Object.keys(memo).length ? { memo } : {}),
      workflowIdConflictPolicy: 'USE_EXISTING',
      requestEagerStart: target.eagerStart,
      ...(priorityKey === undefined ? {} : { priority: { priorityKey } }),
    });
  const handle = await (options.parentContext ? context.with(options.parentContext, start) : start());
  return {
    sagaId: handle.workflowId,
    runId: handle.firstExecutionRunId,
    eagerlyStarted: handle.eagerlyStarted === true,
  };
}

/** Validates a pipeline input, throwing InvalidPipelineInputError that lists every bad field. */
export function parsePipelineInput(input: unknown): PipelineInput {
  const parsed = pipelineInputSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new InvalidPipelineInputError(
    parsed.error.issues.map((issue) => ({
      field:
        issue.code === 'unrecognized_keys'
          ? issue.keys.join(', ')
          : issue.path.map(String).join('.') || '(input)',
      message: issue.message,
    })),
  );
}

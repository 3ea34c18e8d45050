/**
 * Temporal's half of a saga's trace: Temporal's own OpenTelemetry interceptors (`@temporalio/interceptors-opentelemetry`)
 * on every client sagalane opens, in the workflow bundle and on the activities, plus the `saga.*` attributes our
 * spans carry. Installed only while tracing is on (src/observability/tracing.ts): off, a worker and a client are
 * built exactly as before.
 *
 * The trace crosses Temporal in its headers: the client's `StartWorkflow:<type>` span is the parent of the workflow's
 * `RunWorkflow:<type>`, which is the parent of each `StartActivity:<step>`, whose `RunActivity:<step>` runs the step
 * (and, with lane dispatch, submits the lane task as its child: src/lane carries the context on in the stream entry).
 */
import { trace } from '@opentelemetry/api';
import { Client, type ClientOptions, type WorkflowClientInterceptor } from '@temporalio/client';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { CatalogActivity } from '../catalog/catalog';
import { tracingEnabled, workflowSpanExport } from '../observability/tracing';

/** The workflow interceptor module Temporal's bundler adds to the bundle: it makes the workflow's spans. */
export const OTEL_WORKFLOW_INTERCEPTOR_MODULE =
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');
/** Ours, listed after it: carries the start's trace on to what the workflow schedules (src/workflows/trace-context.ts). */
export const TRACE_CONTEXT_WORKFLOW_MODULE = require.resolve('../workflows/trace-context');

/**
 * What the workflow side of a trace holds (`SAGALANE_TRACE_WORKFLOWS`): `spans` (the default), Temporal's interceptor,
 * a `RunWorkflow` span per run and a `StartActivity` span per step; `context`, no workflow spans, only the trace
 * carried on to the activities (cheaper: the OpenTelemetry SDK stays out of the bundle; docs/OBSERVABILITY.md).
 */
export type WorkflowTracing = 'spans' | 'context';

export function workflowTracingMode(env: NodeJS.ProcessEnv = process.env): WorkflowTracing {
  const value = (env.SAGALANE_TRACE_WORKFLOWS ?? '').trim() || 'spans';
  if (value !== 'spans' && value !== 'context')
    throw new Error(`SAGALANE_TRACE_WORKFLOWS must be spans or context (got ${JSON.stringify(value)})`);
  return value;
}

/** Span attribute names of the saga model (docs/OBSERVABILITY.md "Tracing"). */
export const SAGA_ATTR = {
  id: 'saga.id',
  type: 'saga.type',
  step: 'saga.step',
  attempt: 'saga.attempt',
  compensation: 'saga.compensation',
} as const;

/** Client interceptors for a Temporal `Client`: empty while tracing is off. */
export function tracingClientInterceptors(): WorkflowClientInterceptor[] {
  return tracingEnabled() ? [new OpenTelemetryWorkflowClientInterceptor()] : [];
}

/**
 * A Temporal `Client` as sagalane opens one: with Temporal's tracing interceptor while tracing is on, so a saga it
 * starts joins the caller's trace.
 */
export function tracedTemporalClient(options: ClientOptions): Client {
  const tracing = tracingClientInterceptors();
  if (tracing.length === 0) return new Client(options);
  const own = options.interceptors?.workflow;
  if (own !== undefined && !Array.isArray(own)) return new Client(options); // a factory of the caller's: as given
  return new Client({
    ...options,
    interceptors: { ...options.interceptors, workflow: [...tracing, ...(own ?? [])] },
  });
}

export interface SagaWorkerTracing {
  /** Outermost first: Temporal's span, then ours naming the saga and step on it. */
  activityInterceptors: ActivityInterceptorsFactory[];
  workflowModules: string[];
  /** The sink the workflow's spans leave the sandbox by (none without workflow spans). */
  sinks?: InjectedSinks<OpenTelemetrySinks>;
}

/**
 * What a saga worker adds while tracing is on; undefined while it is off. `stepActivities` (the catalog's) say which
 * activity is which step and which is a compensation.
 */
export function sagaWorkerTracing(
  stepActivities: readonly CatalogActivity[],
  mode: WorkflowTracing = workflowTracingMode(),
): SagaWorkerTracing | undefined {
  const exportTo = workflowSpanExport();
  if (!exportTo) return undefined;
  const byActivity = new Map(stepActivities.map((a) => [a.activityType, a]));
  const otelActivity: ActivityInterceptorsFactory = (ctx) => ({
    inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
    outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
  });
  // Runs inside Temporal's `RunActivity:<type>` span (listed after it): names the saga and the step on that span.
  const sagaAttributes: ActivityInterceptorsFactory = (ctx) => ({
    inbound: {
      execute(input, next) {
        const span = trace.getActiveSpan();
        if (span && ctx.info.inWorkflow && ctx.info.workflowExecution) {
          const declared = byActivity.get(ctx.info.activityType);
          span.setAttributes({
            [SAGA_ATTR.id]: ctx.info.workflowExecution.workflowId,
            [SAGA_ATTR.type]: ctx.info.workflowType,
            [SAGA_ATTR.step]: declared?.step ?? ctx.info.activityType,
            [SAGA_ATTR.attempt]: ctx.info.attempt,
            ...(declared?.compensation ? { [SAGA_ATTR.compensation]: true } : {}),
          });
        }
        return next(input);
      },
    },
  });
  return {
    activityInterceptors: [otelActivity, sagaAttributes],
    workflowModules:
      mode === 'spans'
        ? [OTEL_WORKFLOW_INTERCEPTOR_MODULE, TRACE_CONTEXT_WORKFLOW_MODULE]
        : [TRACE_CONTEXT_WORKFLOW_MODULE],
    ...(mode === 'spans'
      ? { sinks: { exporter: makeWorkflowExporter(exportTo.processor, exportTo.resource) } }
      : {}),
  };
}

/**
 * The workflow span sink of a prebuilt bundle while tracing is off: the bundle always holds Temporal's tracing
 * interceptor (one bundle serves both), whose spans need a sink to go to; they are dropped.
 */
export function workflowSpansDropped(): InjectedSinks<OpenTelemetrySinks> {
  return { exporter: { export: { fn: () => undefined, callDuringReplay: false } } };
}

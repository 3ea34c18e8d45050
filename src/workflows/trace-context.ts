/**
 * Trace context through a workflow without workflow spans: the lightweight alternative to Temporal's tracing
 * interceptor in the bundle (`SAGALANE_TRACE_WORKFLOWS=context`, src/runtime/temporal-tracing.ts).
 *
 * Temporal's interceptor makes a span per workflow run and per activity scheduled, but it also puts the OpenTelemetry
 * SDK into the bundle, and the bundle's modules are initialised again for every workflow run: measured in bench:saga
 * (`--tracing`), that is most of what tracing costs a saga. This module carries the trace the client started the
 * workflow in (Temporal's `_tracer-data` header, which its client interceptor writes) on to every activity, local
 * activity and child workflow the workflow schedules, so each step's `RunActivity` span (and the lane task under it)
 * still joins the caller's trace, as a child of the client's `StartWorkflow` span. It makes no span and imports no
 * OpenTelemetry code.
 *
 * Listed after Temporal's interceptor when both are bundled (a prebuilt bundle holds both): a header that is already
 * there (Temporal's, naming its own `StartActivity` span) is kept.
 */
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/workflow';
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

/** The header Temporal's tracing interceptors read and write (`@temporalio/interceptors-opentelemetry` TRACE_HEADER). */
export const TEMPORAL_TRACE_HEADER = '_tracer-data';

/** The trace the workflow was started in. Module state is this workflow run's own: the bundle is set up per run. */
let startedIn: Payload | undefined;

function carried<T extends { headers: Record<string, Payload> }>(input: T): T {
  if (!startedIn || input.headers[TEMPORAL_TRACE_HEADER]) return input;
  return { ...input, headers: { ...input.headers, [TEMPORAL_TRACE_HEADER]: startedIn } };
}

/** The trace id the workflow was started in, from its start header; undefined without one. */
export function startedTraceId(): string | undefined {
  if (!startedIn) return undefined;
  try {
    const carrier = defaultPayloadConverter.fromPayload<{ traceparent?: unknown }>(startedIn);
    const m =
      typeof carrier?.traceparent === 'string' ? /^00-([0-9a-f]{32})-/.exec(carrier.traceparent) : null;
    return m?.[1];
  } catch {
    return undefined;
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      async execute(input, next) {
        startedIn = input.headers[TEMPORAL_TRACE_HEADER];
        return next(input);
      },
    },
  ],
  outbound: [
    {
      scheduleActivity: (input, next) => next(carried(input)),
      scheduleLocalActivity: (input, next) => next(carried(input)),
      startChildWorkflowExecution: (input, next) => next(carried(input)),
    },
  ],
});

/**
 * The saga's trace id, read inside workflow code: Temporal's tracing interceptor (bundled while tracing is on,
 * src/runtime/temporal-tracing.ts) keeps the workflow's span active in the sandbox; without workflow spans, the trace
 * the workflow was started in (./trace-context.ts). Without tracing there is neither and this gives nothing. Read for the step-duration exemplar only, never for a decision, so replay stays deterministic.
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { startedTraceId } from './trace-context';

export function sagaTraceId(): { traceId?: string } {
  const sc = trace.getActiveSpan()?.spanContext();
  if (sc && isSpanContextValid(sc)) return { traceId: sc.traceId };
  // Without workflow spans (SAGALANE_TRACE_WORKFLOWS=context): the trace the workflow was started in.
  const started = startedTraceId();
  return started ? { traceId: started } : {};
}

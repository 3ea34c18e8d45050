/**
 * The saga's trace id, read inside workflow code: Temporal's tracing interceptor (bundled while tracing is on,
 * src/runtime/temporal-tracing.ts) keeps the workflow's span active in the sandbox. Without it nothing is active and
 * this gives nothing. Read for the step-duration exemplar only, never for a decision, so replay stays deterministic.
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';

export function sagaTraceId(): { traceId?: string } {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && isSpanContextValid(sc) ? { traceId: sc.traceId } : {};
}

/**
 * `SAGALANE_TRACE_WORKFLOWS=context`: no workflow spans (Temporal's interceptor and the OpenTelemetry SDK stay out of
 * the bundle), yet each step's activity, and the lane task under it, still joins the trace the saga was started in.
 * Two sagas run at once under two callers' traces: each step lands in its own saga's trace (the carried context is
 * the workflow run's own, not shared between workflows in the sandbox).
 */
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { flushTracing, inSpan } from '../../src/observability/tracing';
import { startTracedStack, type TracedStack } from './traced-stack';

const exporter = new InMemorySpanExporter();

describe('workflow tracing mode "context"', () => {
  let stack: TracedStack;
  beforeAll(async () => {
    stack = await startTracedStack('trace-context', exporter, 'context');
  }, 120_000);
  afterAll(() => stack?.stop());

  it('two sagas at once: every step and its lane task in its own caller trace, no workflow spans', async () => {
    const callers = await Promise.all(
      ['trend following with moving averages', 'mean reversion after gaps'].map((idea) =>
        inSpan('caller', {}, async () => {
          const traceId = trace.getSpan(context.active())!.spanContext().traceId;
          const { sagaId } = await stack.sagas.startPipeline({ idea, symbol: 'DEMO' });
          return { traceId, sagaId };
        }),
      ),
    );
    await Promise.all(callers.map((c) => stack.sagas.result(c.sagaId)));
    await flushTracing();
    const spans = exporter.getFinishedSpans();
    expect(spans.some((s) => s.name.startsWith('RunWorkflow:') || s.name.startsWith('StartActivity:'))).toBe(
      false,
    );
    for (const { traceId, sagaId } of callers) {
      const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
      const byId = new Map(inTrace.map((s) => [s.spanContext().spanId, s]));
      const start = inTrace.find((s) => s.name === 'StartWorkflow:researchPipeline')!;
      expect(start).toBeDefined();
      for (const step of ['reasoning', 'codegen', 'ml', 'backtest']) {
        const runs = inTrace.filter((s) => s.name === `RunActivity:${step}`);
        expect(runs.length).toBeGreaterThanOrEqual(1);
        for (const r of runs) {
          expect(r.attributes['saga.id']).toBe(sagaId);
          expect(r.parentSpanId).toBe(start.spanContext().spanId);
        }
        const lane: ReadableSpan | undefined = inTrace.find((s) => s.name === `lane.run step.${step}`);
        expect(runs).toContain(byId.get(lane!.parentSpanId!));
      }
    }
    // Step-duration exemplars name a saga's trace here too (read from the start's header). A bucket keeps only its
    // latest exemplar, so with two sagas in the same buckets each trace id shown is one of theirs, not both.
    const shown = [
      ...(await stack.metrics.registry.metrics()).matchAll(/# \{trace_id="([0-9a-f]{32})"\}/g),
    ].map((m) => m[1]);
    expect(shown.length).toBeGreaterThan(0);
    for (const id of shown) expect(callers.map((c) => c.traceId)).toContain(id);
  }, 90_000);
});

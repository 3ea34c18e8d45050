/**
 * `SAGALANE_TRACE_WORKFLOWS=context`: no workflow spans (Temporal's interceptor and the OpenTelemetry SDK stay out of
 * the bundle), yet each step's activity, and the lane task under it, still joins the trace the saga was started in.
 * Two sagas run at once under two callers' traces: each step lands in its own saga's trace (the carried context is
 * the workflow run's own, not shared between workflows in the sandbox).
 */
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SagaClient } from '../../src/client/saga-client';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/observability/metrics';
import { createSagaMetricsSinks } from '../../src/observability/saga-metrics-sinks';
import { flushTracing, inSpan, shutdownTracing, startTracing } from '../../src/observability/tracing';
import { startExpressWorker, type RunningExpressWorker } from '../../src/runtime/express-worker';
import { startSagaWorker, type SagaWorkerHandle } from '../../src/runtime/saga-worker';
import { tracedTemporalClient } from '../../src/runtime/temporal-tracing';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  type TemporalTestContext,
} from '../helpers/temporal';

const exporter = new InMemorySpanExporter();

describe('workflow tracing mode "context"', () => {
  let ctx: TemporalTestContext;
  let config: Config;
  let sagaWorker: SagaWorkerHandle;
  let expressWorker: RunningExpressWorker;
  let sagas: SagaClient;
  const metrics = () => metricsHolder.m!;
  const metricsHolder: { m?: ReturnType<typeof createMetrics> } = {};
  const redis = redisClient();

  beforeAll(async () => {
    expect(startTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)] })).toBe(true);
    ctx = await temporalTestContext();
    config = loadConfig({
      ...process.env,
      TEMPORAL_ADDRESS: temporalAddress(),
      SAGALANE_TASK_QUEUE: uniqueTaskQueue('trace-context'),
      SAGALANE_KEY_PREFIX: uniquePrefix('trace-context'),
      REDIS_URL: redisUrl(),
    });
    const silent = createLogger('silent');
    metricsHolder.m = createMetrics({ defaultMetrics: false });
    const before = process.env.SAGALANE_TRACE_WORKFLOWS;
    process.env.SAGALANE_TRACE_WORKFLOWS = 'context';
    try {
      sagaWorker = await startSagaWorker({
        config,
        logger: silent,
        sinks: createSagaMetricsSinks(metrics()),
      });
    } finally {
      if (before === undefined) delete process.env.SAGALANE_TRACE_WORKFLOWS;
      else process.env.SAGALANE_TRACE_WORKFLOWS = before;
    }
    expressWorker = await startExpressWorker({ config, logger: silent });
    sagas = new SagaClient(tracedTemporalClient({ connection: ctx.connection }), {
      taskQueue: config.temporal.taskQueue,
    });
  }, 120_000);

  afterAll(async () => {
    await expressWorker?.stop();
    await sagaWorker?.stop();
    await ctx?.closeAll();
    await deleteKeys(redis, config.keyPrefix);
    redis.disconnect();
    await shutdownTracing();
  });

  it('two sagas at once: every step and its lane task in its own caller trace, no workflow spans', async () => {
    const callers = await Promise.all(
      ['trend following with moving averages', 'mean reversion after gaps'].map((idea) =>
        inSpan('caller', {}, async () => {
          const traceId = trace.getSpan(context.active())!.spanContext().traceId;
          const { sagaId } = await sagas.startPipeline({ idea, symbol: 'DEMO' });
          return { traceId, sagaId };
        }),
      ),
    );
    await Promise.all(callers.map((c) => sagas.result(c.sagaId)));
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
    const shown = [...(await metrics().registry.metrics()).matchAll(/# \{trace_id="([0-9a-f]{32})"\}/g)].map(
      (m) => m[1],
    );
    expect(shown.length).toBeGreaterThan(0);
    for (const id of shown) expect(callers.map((c) => c.traceId)).toContain(id);
  }, 90_000);
});

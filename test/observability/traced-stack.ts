/**
 * The stack the in-process tracing tests share: tracing started with the caller's span exporter, the real dev server,
 * a saga worker bundled at start (so the bundle gets the tracing interceptors of the chosen workflow mode), an express
 * worker running the real agents, step-duration metrics with exemplars, and a SagaClient whose Temporal client carries
 * the trace (as the clients sagalane opens do while tracing is on).
 */
import { SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { SagaClient } from '../../src/client/saga-client';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createMetrics, type SagalaneMetrics } from '../../src/observability/metrics';
import { createSagaMetricsSinks } from '../../src/observability/saga-metrics-sinks';
import { shutdownTracing, startTracing } from '../../src/observability/tracing';
import { startExpressWorker } from '../../src/runtime/express-worker';
import { startSagaWorker } from '../../src/runtime/saga-worker';
import { tracedTemporalClient, type WorkflowTracing } from '../../src/runtime/temporal-tracing';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  type TemporalTestContext,
} from '../helpers/temporal';

export interface TracedStack {
  ctx: TemporalTestContext;
  config: Config;
  /** Created after tracing started: exemplars on. */
  metrics: SagalaneMetrics;
  /** On a Temporal client with the tracing interceptor. */
  sagas: SagaClient;
  stop(): Promise<void>;
}

export async function startTracedStack(
  name: string,
  exporter: SpanExporter,
  workflows: WorkflowTracing = 'spans',
): Promise<TracedStack> {
  if (!startTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))
    throw new Error('tracing did not start (OTEL_SDK_DISABLED=true in the environment?)');
  const ctx = await temporalTestContext();
  const config = loadConfig({
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    SAGALANE_TASK_QUEUE: uniqueTaskQueue(name),
    SAGALANE_KEY_PREFIX: uniquePrefix(name),
    REDIS_URL: redisUrl(),
  });
  const silent = createLogger('silent');
  const metrics = createMetrics({ defaultMetrics: false });
  // The workflow side is read from SAGALANE_TRACE_WORKFLOWS when the worker starts.
  const before = process.env.SAGALANE_TRACE_WORKFLOWS;
  process.env.SAGALANE_TRACE_WORKFLOWS = workflows;
  let sagaWorker;
  try {
    sagaWorker = await startSagaWorker({ config, logger: silent, sinks: createSagaMetricsSinks(metrics) });
  } finally {
    if (before === undefined) delete process.env.SAGALANE_TRACE_WORKFLOWS;
    else process.env.SAGALANE_TRACE_WORKFLOWS = before;
  }
  const expressWorker = await startExpressWorker({ config, logger: silent });
  const sagas = new SagaClient(tracedTemporalClient({ connection: ctx.connection }), {
    taskQueue: config.temporal.taskQueue,
  });
  const redis = redisClient();
  return {
    ctx,
    config,
    metrics,
    sagas,
    async stop() {
      await expressWorker.stop();
      await sagaWorker.stop();
      await ctx.closeAll();
      await deleteKeys(redis, config.keyPrefix);
      redis.disconnect();
      await shutdownTracing();
    },
  };
}

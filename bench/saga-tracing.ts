/**
 * `npm run bench:saga -- --tracing [discard|otlp]`: what OpenTelemetry tracing (issue #27) costs a saga, beside
 * tracing off in the same run: the 4-step pipeline with near-instant in-worker activities, one saga at a time (p50)
 * and 50 in flight (sagas/s), alternately off and on, twice each, on one in-memory dev server.
 *
 * Each measurement gets a saga worker of its own, started after tracing was (or was not): so the traced one carries
 * Temporal's interceptors in its activities and its workflow bundle, and its client the client interceptor, exactly
 * as `sagalane worker saga` does with the OTEL_* variables set. With tracing on every saga is started under a span of
 * its own (a caller's), so each saga is one trace: StartWorkflow, RunWorkflow, and a StartActivity and RunActivity
 * per step. Spans are dropped as bench/express-tracing.ts does (`discard`: counted; `otlp`: serialised and posted to
 * a throwaway local sink). Writes bench/results/saga-tracing-<time>.json and the `saga-tracing` section of
 * docs/BENCHMARKS.md (not with `--scale` below 1).
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { DefaultLogger, NativeConnection, Runtime, type InjectedSinks } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { startTemporalDevServer } from '../src/dev/temporal-server';
import { createLogger } from '../src/logger';
import { inSpan } from '../src/observability/tracing';
import { startSagaWorker } from '../src/runtime/saga-worker';
import { tracedTemporalClient } from '../src/runtime/temporal-tracing';
import { RESEARCH_PIPELINE_WORKFLOW, pipelineWorkflowId } from '../src/workflows/research/pipeline-contract';
import { SAGA_METRICS_SINK, type SagaSinks } from '../src/workflows/saga-sinks';
import {
  exportedText,
  startBenchTracing,
  type BenchTracingMode,
  type TracingCounts,
} from './express-tracing';
import { createFastPipelineActivities } from './lib/fast-pipeline-activities';
import { closedLoop, type LoadResult } from './lib/load';
import { describeMachine } from './lib/machine';
import { status } from './lib/progress';
import { redisUrlFromEnv } from './lib/redis-keys';
import { commandLine, writeReport } from './lib/results';
import { fmtMs, fmtRate } from './lib/stats';
import { consoleTable, markdownTable, type Row } from './lib/table';

const quietSinks: InjectedSinks<SagaSinks> = {
  [SAGA_METRICS_SINK]: {
    sagaStarted: { fn: () => undefined, callDuringReplay: false },
    stateTransition: { fn: () => undefined, callDuringReplay: false },
    stepFinished: { fn: () => undefined, callDuringReplay: false },
    compensationFinished: { fn: () => undefined, callDuringReplay: false },
    sagaEnded: { fn: () => undefined, callDuringReplay: false },
  },
};

export async function runSagaTracingBench(mode: BenchTracingMode, scale: number): Promise<void> {
  const startedAt = new Date();
  const admin = new Redis(redisUrlFromEnv());
  const machine = await describeMachine(admin);
  admin.disconnect();
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  status(`starting an in-memory Temporal dev server (load ${machine.loadAtStart.join(' ')})`);
  const server = await startTemporalDevServer({ logLevel: 'error' });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const { activities } = createFastPipelineActivities();
  const rows: Row[] = [];
  const figures: { variant: string; p50: number; p95: number; perSecond: number }[] = [];
  const data: unknown[] = [];
  try {
    for (const round of [1, 2]) {
      for (const variant of ['off', 'spans', 'context'] as const) {
        const on = variant !== 'off';
        const label = on ? `tracing ${mode}, workflows: ${variant}` : 'tracing off';
        const tracing = on ? await startBenchTracing(mode) : undefined;
        // The workflow side (SAGALANE_TRACE_WORKFLOWS), read when the saga worker starts.
        process.env.SAGALANE_TRACE_WORKFLOWS = on ? variant : 'spans';
        let counts: TracingCounts = {};
        let latency: LoadResult | undefined;
        let throughput: LoadResult | undefined;
        const taskQueue = `bench-saga-tracing-${randomUUID().slice(0, 8)}`;
        try {
          status(`round ${round}, ${label}: bundling and starting a saga worker`);
          const worker = await startSagaWorker({
            config: loadConfig({ SAGALANE_LOG_LEVEL: 'error' }),
            connection: nativeConnection,
            taskQueue,
            activities,
            sinks: quietSinks,
            logger: createLogger('error'),
          });
          // Eager start needs the worker's own connection; the client interceptor is there only while tracing.
          const client = tracedTemporalClient({ connection: nativeConnection });
          const runSaga = async () => {
            const handle = await client.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
              taskQueue,
              workflowId: pipelineWorkflowId('BENCH', randomUUID()),
              args: [{ idea: 'benchmark saga', symbol: 'BENCH' }],
              requestEagerStart: true,
            });
            await handle.result();
          };
          const saga = on ? () => inSpan('bench.saga', {}, runSaga) : runSaga;
          try {
            for (let i = 0; i < 5; i++) await saga(); // warm-up: JIT, the workflow context, the bundle
            latency = await closedLoop(
              { label: `${label} c=1`, concurrency: 1, durationMs: 10_000 * scale, warmupMs: 1000 },
              saga,
            );
            throughput = await closedLoop(
              { label: `${label} c=50`, concurrency: 50, durationMs: 10_000 * scale, warmupMs: 1000 },
              saga,
            );
          } finally {
            await worker.stop();
          }
        } finally {
          counts = (await tracing?.stop()) ?? {};
        }
        data.push({ round, tracing: on ? mode : 'off', workflows: variant, latency, throughput, counts });
        figures.push({
          variant,
          p50: latency?.latency?.p50 ?? NaN,
          p95: latency?.latency?.p95 ?? NaN,
          perSecond: throughput?.tasksPerSecond ?? NaN,
        });
        rows.push({
          round: String(round),
          tracing: on ? `${mode}, workflows: ${variant}` : 'off',
          'c=1 p50 ms': latency?.latency ? fmtMs(latency.latency.p50) : '–',
          'c=1 p95 ms': latency?.latency ? fmtMs(latency.latency.p95) : '–',
          'c=50 sagas/s': throughput ? fmtRate(throughput.tasksPerSecond) : '–',
          errors: String((latency?.errors ?? 0) + (throughput?.errors ?? 0)),
          exported: exportedText(counts),
        });
      }
    }
  } finally {
    delete process.env.SAGALANE_TRACE_WORKFLOWS;
    await nativeConnection.close();
    await server.stop();
  }
  const mean = (variant: string, key: 'p50' | 'p95' | 'perSecond') => {
    const values = figures.filter((f) => f.variant === variant).map((f) => f[key]);
    return values.reduce((a, b) => a + b, 0) / values.length;
  };
  const summary: Row[] = (['spans', 'context'] as const).map((variant) => ({
    'workflow side': variant,
    'c=1 p50, on − off (mean of the rounds)': `${(mean(variant, 'p50') - mean('off', 'p50')).toFixed(2)} ms`,
    'c=1 p95, on − off': `${(mean(variant, 'p95') - mean('off', 'p95')).toFixed(2)} ms`,
    'c=50 throughput, on ÷ off': `${((100 * mean(variant, 'perSecond')) / mean('off', 'perSecond')).toFixed(1)} %`,
  }));
  process.stdout.write(`\n${consoleTable(rows)}\n\n${consoleTable(summary)}\n`);
  if (scale < 1) {
    status('smoke run (--scale < 1): nothing written');
    return;
  }
  const file = writeReport({
    name: 'saga-tracing',
    command: commandLine('bench:saga'),
    machine,
    startedAt,
    markdown: [
      `#### OpenTelemetry tracing off and on (\`--tracing ${mode}\`), alternately, same run`,
      '',
      markdownTable(rows),
      '',
      markdownTable(summary),
    ].join('\n'),
    data: { scale, mode, rounds: data },
  });
  status(`wrote ${file} and the saga-tracing section of docs/BENCHMARKS.md`);
}

/**
 * `npm run bench:express -- --tracing [discard|otlp]`: what OpenTelemetry tracing (issue #27) costs the lane, beside
 * tracing off in the same run. The echo lane's saturation and paced (1,000/s) runs, alternately off and on, twice
 * each (so a drift of the machine over the run shows as a difference between rounds, not as tracing's cost). With
 * tracing on, every submit is made under a span (one per saturation batch, one per paced round trip), so each entry
 * carries trace context and each task makes its `lane.wait` and `lane.run` spans, as a dispatched saga step does.
 * Prints the table and writes bench/results/express-tracing-<time>.json and the `express-tracing` section of
 * docs/BENCHMARKS.md (not with `--scale` below 1 or `--modes`).
 *
 * Two ways to drop the spans, so the figures hold no collector's cost:
 *
 * - `discard` (the default): a BatchSpanProcessor (the SDK's defaults, `OTEL_BSP_*` apply) over an exporter that
 *   counts the spans and drops them: the cost of making, ending and batching spans, without serialising them;
 * - `otlp`: tracing configured the way a deployment does it (`OTEL_EXPORTER_OTLP_ENDPOINT`, `http/protobuf`, the
 *   Node SDK's own OTLP exporter and batch processor), exporting to a throwaway HTTP sink in this process that
 *   reads each request and answers 200: serialisation and the HTTP requests are paid too.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import Redis from 'ioredis';
import type { TaskType } from '../src/lane';
import { echoTaskType } from '../src/lane/builtin-task-types';
import { inSpan, shutdownTracing, startTracing } from '../src/observability/tracing';
import { LaneSubject, type ExpressSubject } from './lib/express-subjects';
import type { LoadResult } from './lib/load';
import { describeMachine } from './lib/machine';
import { status } from './lib/progress';
import { benchPrefix, deleteMatching, redisUrlFromEnv } from './lib/redis-keys';
import { commandLine, writeReport } from './lib/results';
import { fmtMs, fmtRate } from './lib/stats';
import { consoleTable, markdownTable, type Row } from './lib/table';

export type BenchTracingMode = 'discard' | 'otlp';

/** `--tracing [discard|otlp]`: undefined when not given. */
export function tracingArg(argv: string[] = process.argv): BenchTracingMode | undefined {
  const i = argv.indexOf('--tracing');
  if (i < 0) return undefined;
  const next = argv[i + 1];
  if (next === undefined || next.startsWith('--')) return 'discard';
  if (next !== 'discard' && next !== 'otlp') throw new Error(`--tracing takes discard or otlp (got ${next})`);
  return next;
}

/** Counts and drops every span handed to it. */
class DiscardingExporter implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.spans += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

/** What one traced measurement handed on: spans (discard) or OTLP requests and bytes (otlp). */
export interface TracingCounts {
  spans?: number;
  requests?: number;
  bytes?: number;
}

/** What left the process, for a table cell: spans (discard) or OTLP requests and bytes. */
export function exportedText(counts: TracingCounts): string {
  if (counts.spans !== undefined) return `${counts.spans} spans`;
  if (counts.requests !== undefined)
    return `${counts.requests} requests, ${((counts.bytes ?? 0) / 1e6).toFixed(1)} MB`;
  return '–';
}

export interface BenchTracing {
  /** Flushes and stops tracing (and the sink); returns what was exported meanwhile. */
  stop(): Promise<TracingCounts>;
}

const OTLP_ENV = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_SERVICE_NAME'] as const;

/** Starts tracing for one measurement (the process's global OpenTelemetry state: one at a time). */
export async function startBenchTracing(mode: BenchTracingMode): Promise<BenchTracing> {
  if (mode === 'discard') {
    const exporter = new DiscardingExporter();
    if (!startTracing({ serviceName: 'sagalane-bench', spanProcessors: [new BatchSpanProcessor(exporter)] }))
      throw new Error('tracing did not start (is OTEL_SDK_DISABLED=true set?)');
    return {
      stop: async () => {
        await shutdownTracing();
        return { spans: exporter.spans };
      },
    };
  }
  const counts = { requests: 0, bytes: 0 };
  const sink = http.createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (counts.bytes += chunk.length));
    req.on('end', () => {
      counts.requests++;
      // An empty ExportTraceServiceResponse: protobuf's encoding of it is no bytes at all.
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const saved = Object.fromEntries(OTLP_ENV.map((k) => [k, process.env[k]]));
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/protobuf';
  process.env.OTEL_SERVICE_NAME = 'sagalane-bench';
  const restoreEnv = () => {
    for (const k of OTLP_ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  };
  if (!startTracing()) {
    restoreEnv();
    sink.close();
    throw new Error('tracing did not start from the OTLP variables (is OTEL_SDK_DISABLED=true set?)');
  }
  return {
    stop: async () => {
      await shutdownTracing();
      restoreEnv();
      await new Promise<void>((resolve) => sink.close(() => resolve()));
      return { ...counts };
    },
  };
}

/** The echo lane subject whose submits run under a span of their own while tracing is on. */
class TracedLaneSubject extends LaneSubject {
  constructor(
    name: string,
    redisUrl: string,
    prefix: string,
    type: TaskType,
    private readonly underSpans: boolean,
  ) {
    super(name, redisUrl, prefix, type, () => ({ message: 'benchmark' }));
  }
  override async enqueue(n: number): Promise<void> {
    if (!this.underSpans) return super.enqueue(n);
    return inSpan('bench.enqueue', {}, () => super.enqueue(n));
  }
  override async roundTrip(): Promise<void> {
    if (!this.underSpans) return super.roundTrip();
    return inSpan('bench.round_trip', {}, () => super.roundTrip());
  }
}

/** What bench/express.ts measured of one subject (its `Measurement`, the parts read here). */
interface Measured {
  mode: string;
  result: LoadResult;
}

export async function runTracingBench(
  mode: BenchTracingMode,
  scale: number,
  measure: (admin: Redis, subject: ExpressSubject) => Promise<Measured[]>,
): Promise<void> {
  const redisUrl = redisUrlFromEnv();
  const admin = new Redis(redisUrl);
  const startedAt = new Date();
  const machine = await describeMachine(admin);
  const prefix = benchPrefix('express-tracing');
  status(`tracing ${mode}; Redis ${redisUrl}, key prefix ${prefix}, load ${machine.loadAtStart.join(' ')}`);
  const rows: Row[] = [];
  /** Per measurement, the figures the summary compares (NaN when a mode was left out). */
  const figures: { on: boolean; tasksPerSecond: number; p50: number; p95: number }[] = [];
  const data: unknown[] = [];
  try {
    for (const round of [1, 2]) {
      for (const on of [false, true]) {
        const name = `sagalane lane (echo), tracing ${on ? mode : 'off'}`;
        const subject = new TracedLaneSubject(
          name,
          redisUrl,
          `${prefix}:r${round}${on ? 'on' : 'off'}`,
          echoTaskType,
          on,
        );
        const tracing = on ? await startBenchTracing(mode) : undefined;
        let measured: Measured[] = [];
        let counts: TracingCounts = {};
        try {
          measured = await measure(admin, subject);
        } finally {
          counts = (await tracing?.stop()) ?? {};
          await subject.close(admin);
        }
        const sat = measured.find((m) => m.mode === 'saturation')?.result;
        const pacedRun = measured.find((m) => m.mode === 'paced')?.result;
        data.push({ round, tracing: on ? mode : 'off', measured, counts });
        figures.push({
          on,
          tasksPerSecond: sat?.tasksPerSecond ?? NaN,
          p50: pacedRun?.latency?.p50 ?? NaN,
          p95: pacedRun?.latency?.p95 ?? NaN,
        });
        rows.push({
          round: String(round),
          tracing: on ? mode : 'off',
          'saturation tasks/s': sat ? fmtRate(sat.tasksPerSecond) : '–',
          'paced p50 ms': pacedRun?.latency ? fmtMs(pacedRun.latency.p50) : '–',
          'paced p95 ms': pacedRun?.latency ? fmtMs(pacedRun.latency.p95) : '–',
          'paced p99 ms': pacedRun?.latency ? fmtMs(pacedRun.latency.p99) : '–',
          // 2 spans per task when none dropped.
          exported: exportedText(counts),
        });
      }
    }
  } finally {
    await deleteMatching(admin, `${prefix}*`);
  }
  const mean = (on: boolean, key: 'tasksPerSecond' | 'p50' | 'p95') => {
    const values = figures.filter((f) => f.on === on).map((f) => f[key]);
    return values.reduce((a, b) => a + b, 0) / values.length;
  };
  const summary: Row[] = [
    {
      'saturation throughput, on ÷ off (mean of the rounds)': `${((100 * mean(true, 'tasksPerSecond')) / mean(false, 'tasksPerSecond')).toFixed(1)} %`,
      'paced p50, on − off': `${(mean(true, 'p50') - mean(false, 'p50')).toFixed(3)} ms`,
      'paced p95, on − off': `${(mean(true, 'p95') - mean(false, 'p95')).toFixed(3)} ms`,
    },
  ];
  process.stdout.write(`\n${consoleTable(rows)}\n\n${consoleTable(summary)}\n`);
  if (scale < 1 || process.argv.includes('--modes')) {
    status('smoke or partial run (--scale < 1 or --modes): nothing written');
    admin.disconnect();
    return;
  }
  const markdown = [
    `#### OpenTelemetry tracing off and on (\`--tracing ${mode}\`), alternately, same run`,
    '',
    markdownTable(rows),
    '',
    markdownTable(summary),
  ].join('\n');
  const file = writeReport({
    name: 'express-tracing',
    command: commandLine('bench:express'),
    machine,
    startedAt,
    markdown,
    data: { scale, mode, rounds: data },
  });
  status(`wrote ${file} and the express-tracing section of docs/BENCHMARKS.md`);
  admin.disconnect();
}

/**
 * Tracing: one OpenTelemetry trace from the MCP call or CLI command that starts a saga, through the workflow and its
 * steps, to the lane task that ran each step and the agent's work inside it (docs/OBSERVABILITY.md "Tracing").
 *
 * Set by the standard OpenTelemetry variables and run by the OpenTelemetry Node SDK (no export code of our own):
 * tracing is on when `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set or
 * `OTEL_TRACES_EXPORTER` names an exporter, and `OTEL_SDK_DISABLED` is not `true`. The SDK itself reads
 * `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, `http/json`), `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`, ….
 *
 * Off (the default) nothing is registered: the OpenTelemetry API's tracer is its no-op one, no trace context is
 * written anywhere ({@link traceCarrier} gives nothing), and the Temporal interceptors are not installed.
 *
 * The SDK is the 1.x line (sdk-node 0.57, sdk-trace-base 1.30) because Temporal's interceptors
 * (`@temporalio/interceptors-opentelemetry` 1.24) hand workflow spans to a 1.x `SpanProcessor`: a 2.x one reads
 * other field names (`parentSpanContext`) and would export every workflow span as a root.
 */
import {
  ROOT_CONTEXT,
  SpanStatusCode,
  context,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanKind,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { IResource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { BasicTracerProvider, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { redactText } from '../logger';

/** The instrumentation scope of every span sagalane makes itself (Temporal's interceptors use their own). */
export const TRACER_NAME = 'sagalane';

/** Whether the environment asks for tracing (see the module comment). */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()) return true;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').trim();
  return exporters !== '' && exporters !== 'none';
}

export interface StartTracingOptions {
  /** `service.name` when `OTEL_SERVICE_NAME` is not set, e.g. `sagalane-saga-worker`. */
  serviceName?: string;
  /**
   * Span processors to use instead of the exporters the environment names, e.g. a `SimpleSpanProcessor` over an
   * `InMemorySpanExporter` in tests. Given, tracing starts whatever the environment says (but `OTEL_SDK_DISABLED`).
   */
  spanProcessors?: SpanProcessor[];
  env?: NodeJS.ProcessEnv;
}

interface RunningTracing {
  /** Ours to shut down; undefined when the application had registered its own tracer provider. */
  sdk?: NodeSDK;
  provider: BasicTracerProvider;
}

/** The SDK tracer provider registered globally, if any (ours or the embedding application's). */
function registeredProvider(): BasicTracerProvider | undefined {
  const delegate = (trace.getTracerProvider() as { getDelegate?: () => unknown }).getDelegate?.();
  return delegate && typeof (delegate as BasicTracerProvider).getActiveSpanProcessor === 'function'
    ? (delegate as BasicTracerProvider)
    : undefined;
}
let running: RunningTracing | undefined;

/**
 * Starts the OpenTelemetry Node SDK once per process when the environment asks for it (or `spanProcessors` are
 * given). Returns whether tracing is on. A second call changes nothing: the first configuration stays.
 */
export function startTracing(opts: StartTracingOptions = {}): boolean {
  if (running) return true;
  const env = opts.env ?? process.env;
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  // An application that embeds sagalane and set up OpenTelemetry itself keeps its own SDK: sagalane's spans join it.
  const own = registeredProvider();
  if (own) {
    running = { provider: own };
    return true;
  }
  if (!opts.spanProcessors && !tracingRequested(env)) return false;
  const sdk = new NodeSDK({
    // OTEL_SERVICE_NAME wins (the env detector reads it); the component's name is the fallback.
    ...(env.OTEL_SERVICE_NAME?.trim() ? {} : { serviceName: opts.serviceName ?? 'sagalane' }),
    ...(opts.spanProcessors ? { spanProcessors: opts.spanProcessors } : {}),
    // Traces only: no log or metric export (metrics are Prometheus', on /metrics), and no auto-instrumentation of
    // http, ioredis or grpc, whose spans per Redis command would bury the saga's own and cost the lane throughput.
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  const provider = registeredProvider();
  if (!provider) {
    // An exporter list the SDK could not build (e.g. OTEL_TRACES_EXPORTER=bogus): nothing was registered.
    void sdk.shutdown();
    return false;
  }
  running = { sdk, provider };
  return true;
}

/** Whether this process traces. */
export function tracingEnabled(): boolean {
  return running !== undefined;
}

/** Flushes the spans not yet exported and stops the SDK (at process exit; a worker's `stop()` calls it). */
export async function shutdownTracing(): Promise<void> {
  const current = running;
  running = undefined;
  if (!current) return;
  if (!current.sdk) {
    // The application's own provider: flush ours, leave it running.
    await current.provider.forceFlush().catch(() => undefined);
    return;
  }
  await current.sdk.shutdown().catch(() => undefined);
  trace.disable();
  context.disable();
}

/** Exports what has ended so far without stopping (tests, and a CLI command before it prints its trace id). */
export async function flushTracing(): Promise<void> {
  await running?.provider.forceFlush().catch(() => undefined);
}

/**
 * Where Temporal's workflow spans go: they are made inside the workflow sandbox and leave it through a sink, which
 * hands them to this processor with this resource (`makeWorkflowExporter`). Undefined while tracing is off.
 */
export function workflowSpanExport(): { processor: SpanProcessor; resource: IResource } | undefined {
  if (!running) return undefined;
  return { processor: running.provider.getActiveSpanProcessor(), resource: running.provider.resource };
}

/** sagalane's tracer: the API's no-op tracer while tracing is off. */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

// ---- W3C trace context in our own carriers (stream entries, MCP `_meta`, memos) ----

/** W3C trace context as it travels in a stream entry or an MCP request's `_meta`. */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

const w3c = new W3CTraceContextPropagator();
const carrierGetter = {
  keys: (c: TraceCarrier) => Object.keys(c),
  get: (c: TraceCarrier, key: string) => {
    const value = (c as Record<string, unknown>)[key];
    return typeof value === 'string' ? value : undefined;
  },
};
const carrierSetter = {
  set: (c: TraceCarrier, key: string, value: string) => {
    if (key === 'traceparent' || key === 'tracestate') c[key] = value;
  },
};

/**
 * The trace context to write next to work handed on (a stream entry, a memo): the active span's by default.
 * Undefined while tracing is off or when no span is active, so nothing is written then.
 */
export function traceCarrier(ctx: Context = context.active()): TraceCarrier | undefined {
  if (!running) return undefined;
  const carrier: TraceCarrier = {};
  w3c.inject(ctx, carrier, carrierSetter);
  return carrier.traceparent ? carrier : undefined;
}

/**
 * The context a received carrier continues, over `base`. A malformed or missing `traceparent` is ignored (the W3C
 * propagator drops it): the work then starts a new trace; it never fails for it.
 */
export function contextFromCarrier(carrier: unknown, base: Context = ROOT_CONTEXT): Context {
  if (!carrier || typeof carrier !== 'object') return base;
  const { traceparent, tracestate } = carrier as Record<string, unknown>;
  if (typeof traceparent !== 'string') return base;
  return w3c.extract(
    base,
    typeof tracestate === 'string' ? { traceparent, tracestate } : { traceparent },
    carrierGetter,
  );
}

/** The active span's ids, for log lines and the CLI's `--json` output. Undefined without a valid span. */
export function activeTraceIds(
  ctx: Context = context.active(),
): { traceId: string; spanId: string } | undefined {
  const span = trace.getSpan(ctx);
  const sc = span?.spanContext();
  if (!sc || !isSpanContextValid(sc)) return undefined;
  return { traceId: sc.traceId, spanId: sc.spanId };
}

export interface SpanOptions {
  attributes?: Attributes;
  kind?: SpanKind;
  /** The parent: the active context by default. */
  parent?: Context;
  startTime?: number;
}

/**
 * Runs `fn` in a new active span that ends when it settles. A thrown error is recorded on the span (its message,
 * not its payload) and the span's status is ERROR; the error is re-thrown unchanged.
 */
export async function inSpan<T>(
  name: string,
  opts: SpanOptions,
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  const span = tracer().startSpan(
    name,
    { attributes: opts.attributes, kind: opts.kind, startTime: opts.startTime },
    opts.parent ?? context.active(),
  );
  const ctx = trace.setSpan(opts.parent ?? context.active(), span);
  try {
    return await context.with(ctx, () => fn(span));
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Marks a span failed with an error's name and message (never its data). */
export function recordError(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  // Cleaned like a log line: a provider's error can quote a key or a URL with credentials.
  const message = redactText(e.message);
  span.recordException({ name: e.name, message, stack: e.stack && redactText(e.stack) });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * The tracing foundation (src/observability/tracing.ts) and the log lines' trace ids: what is on, what is written
 * into carriers, what a malformed traceparent does. The spans of the lane, Temporal and MCP are tested where they
 * are made; this pins the parts they all stand on.
 */
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createLogger } from '../../src/logger';
import {
  activeTraceIds,
  contextFromCarrier,
  flushTracing,
  inSpan,
  shutdownTracing,
  startTracing,
  traceCarrier,
  tracingEnabled,
  tracingRequested,
} from '../../src/observability/tracing';

const VALID = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('whether tracing is asked for, by the standard variables', () => {
  it.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'TRUE ' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'false' }, true],
  ])('%j → %s', (env, on) => {
    expect(tracingRequested(env as NodeJS.ProcessEnv)).toBe(on);
  });
});

describe('tracing off (the default)', () => {
  it('starts nothing, writes no carrier, and log lines carry no trace id', async () => {
    expect(startTracing({ env: {} })).toBe(false);
    expect(tracingEnabled()).toBe(false);
    // Even inside a context that holds a remote span, nothing is handed on while tracing is off.
    const remote = contextFromCarrier({ traceparent: VALID });
    expect(traceCarrier(remote)).toBeUndefined();
    const lines: string[] = [];
    await inSpan('off', {}, () => createLogger('info', {}, (l) => lines.push(l)).info('hello'));
    expect(JSON.parse(lines[0]!)).not.toHaveProperty('trace_id');
  });

  it('OTEL_SDK_DISABLED=true wins over span processors given in code', () => {
    const processors = [new SimpleSpanProcessor(new InMemorySpanExporter())];
    expect(startTracing({ env: { OTEL_SDK_DISABLED: 'true' }, spanProcessors: processors })).toBe(false);
    expect(tracingEnabled()).toBe(false);
  });
});

describe('tracing on', () => {
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    expect(startTracing({ env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)] })).toBe(true);
  });
  afterAll(() => shutdownTracing());
  beforeEach(() => exporter.reset());
  // The SDK's resource detectors finish asynchronously; spans are exported once they have.
  const finished = async () => {
    await flushTracing();
    return exporter.getFinishedSpans();
  };

  it('a carrier written inside a span continues that span across the hop', async () => {
    let sent: ReturnType<typeof traceCarrier>;
    let parentIds: ReturnType<typeof activeTraceIds>;
    await inSpan('submit', {}, () => {
      sent = traceCarrier();
      parentIds = activeTraceIds();
    });
    expect(sent?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await inSpan('run', { parent: contextFromCarrier(sent) }, () => undefined);
    const run = (await finished()).find((s) => s.name === 'run')!;
    expect(run.spanContext().traceId).toBe(parentIds!.traceId);
    expect(run.parentSpanId).toBe(parentIds!.spanId);
  });

  it('tracestate travels with the traceparent', () => {
    const carried = traceCarrier(contextFromCarrier({ traceparent: VALID, tracestate: 'vendor=1' }));
    expect(carried).toEqual({ traceparent: VALID, tracestate: 'vendor=1' });
  });

  it.each([
    ['garbage'],
    ['00-00000000000000000000000000000000-b7ad6b7169203331-01'], // all-zero trace id
    ['00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01'], // all-zero span id
    ['ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'], // version ff is invalid
    [42],
  ])('a malformed traceparent %j is ignored: the work starts a new trace', async (traceparent) => {
    await inSpan('run', { parent: contextFromCarrier({ traceparent }) }, () => undefined);
    const [run] = await finished();
    expect(run!.parentSpanId).toBeUndefined();
    expect(run!.spanContext().traceId).not.toBe('0af7651916cd43dd8448eb211c80319c');
  });

  it('log lines written in a span carry its trace_id and span_id; outside one they carry none', async () => {
    const lines: string[] = [];
    const log = createLogger('info', { component: 't' }, (l) => lines.push(l));
    let ids: ReturnType<typeof activeTraceIds>;
    await inSpan('logged', {}, () => {
      ids = activeTraceIds();
      log.info('inside');
    });
    log.info('outside');
    expect(JSON.parse(lines[0]!)).toMatchObject({ trace_id: ids!.traceId, span_id: ids!.spanId });
    expect(JSON.parse(lines[1]!)).not.toHaveProperty('trace_id');
    expect(trace.getSpan(context.active())).toBeUndefined();
  });

  it('an error thrown in a span marks it failed with the message, cleaned of secrets, and is re-thrown', async () => {
    await expect(
      inSpan('fails', {}, () => {
        throw new Error('provider said no for api_key=sk-abcdefghijklmnop');
      }),
    ).rejects.toThrow('provider said no');
    const [span] = await finished();
    expect(span!.status.code).toBe(2); // ERROR
    expect(span!.status.message).not.toContain('sk-abcdefghijklmnop');
    expect(span!.events[0]!.name).toBe('exception');
  });
});

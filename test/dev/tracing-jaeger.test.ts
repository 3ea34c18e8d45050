/**
 * The Jaeger that `sagalane dev --tracing` starts (src/dev/jaeger.ts), for real:
 *
 * - Jaeger alone: it starts, every socket it listens on is bound to 127.0.0.1, it accepts a span sent over OTLP/HTTP
 *   by the OpenTelemetry SDK's own protobuf exporter, and its query API returns that span.
 * - `sagalane dev --tracing`, as a user runs it: Jaeger comes up with the stack, the banner shows its UI, and it stops
 *   with the stack.
 * - Across processes (issue #27): a saga worker and a lane (express) worker, started as users start them
 *   (`sagalane worker saga|express`), export over OTLP to that Jaeger; one pipeline later, Jaeger's query API holds
 *   one trace with spans of both processes, the lane task's span a child of a saga-worker span.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SagaClient } from '../../src/client/saga-client';
import { jaegerTracingEnv, loopbackPort, startJaeger, type JaegerServer } from '../../src/dev/jaeger';
import { cliPath, nodeBin, repoRoot } from '../front/front-kit';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { freePort } from '../helpers/ports';
import { temporalAddress, temporalTestContext, uniqueTaskQueue } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

jest.setTimeout(300_000);

/** What `/api/traces` and `/api/traces/<id>` answer (Jaeger's UI JSON, v1 model). */
interface JaegerTrace {
  traceID: string;
  spans: {
    traceID: string;
    spanID: string;
    operationName: string;
    processID: string;
    references: { refType: string; traceID: string; spanID: string }[];
    tags: { key: string; value: unknown }[];
  }[];
  processes: Record<string, { serviceName: string }>;
}

async function queryTraces(jaeger: JaegerServer, query: string): Promise<JaegerTrace[]> {
  const res = await fetch(`${jaeger.uiUrl}/api/traces${query}`);
  // Jaeger answers 404 for a trace id it does not hold (yet).
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`GET /api/traces${query}: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: JaegerTrace[] | null }).data ?? [];
}

/** The local addresses of the TCP sockets `pid` listens on (Linux: its fds matched against /proc/net/tcp{,6}). */
function listeningAddresses(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // Closed while we looked.
    }
  }
  const addresses: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      // sl, local address (hex ip:port), remote address, state (0A = LISTEN), …, inode (the tenth column).
      const [, local = '', , state, , , , , , inode = ''] = line.trim().split(/\s+/);
      if (state !== '0A' || !inodes.has(inode)) continue;
      const [hexIp = '', hexPort = '0'] = local.split(':');
      const ip =
        hexIp.length === 8
          ? (hexIp.match(/../g) ?? [])
              .reverse()
              .map((b) => parseInt(b, 16))
              .join('.')
          : `[${hexIp}]`; // IPv6: any would be a finding here, so the raw form is enough to report.
      addresses.push(`${ip}:${parseInt(hexPort, 16)}`);
    }
  }
  return addresses;
}

describe('Jaeger for local tracing (src/dev/jaeger.ts)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-jaeger-'));
  let jaeger: JaegerServer;

  beforeAll(async () => {
    // Port 0: the OS's pick, so a `sagalane dev --tracing` on the default ports does not collide with the test.
    jaeger = await startJaeger({ dir, otlpHttpPort: 0, uiPort: 0, log: () => undefined });
  });
  afterAll(async () => {
    await jaeger?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 only: the OTLP/HTTP receiver, the UI and query API, and nothing else', () => {
    const addresses = listeningAddresses(jaeger.pid!);
    expect(addresses).toContain(`127.0.0.1:${jaeger.ports.otlpHttp}`);
    expect(addresses).toContain(`127.0.0.1:${jaeger.ports.ui}`);
    // The query service's gRPC API cannot be turned off: it is the third, on a loopback port the OS picked.
    expect(addresses.length).toBeLessThanOrEqual(3);
    for (const address of addresses) expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('takes a span over OTLP/HTTP (protobuf) from the SDK exporter and returns it through the query API', async () => {
    const service = `sagalane-jaeger-test-${randomUUID().slice(0, 8)}`;
    const provider = new BasicTracerProvider({ resource: new Resource({ 'service.name': service }) });
    provider.addSpanProcessor(
      new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${jaeger.otlpEndpoint}/v1/traces` })),
    );
    const tracer = provider.getTracer('tracing-jaeger.test');
    const span = tracer.startSpan('jaeger smoke span', { attributes: { 'saga.id': 'smoke-1' } });
    const { traceId, spanId } = span.spanContext();
    span.end();
    await provider.forceFlush();
    await provider.shutdown();

    const found = await waitFor(
      `the span in /api/traces?service=${service}`,
      async () => {
        const traces = await queryTraces(jaeger, `?service=${encodeURIComponent(service)}&lookback=1h`);
        return traces[0];
      },
      15_000,
      200,
    );
    expect(found.traceID).toBe(traceId);
    const byId = (await queryTraces(jaeger, `/${traceId}`))[0]!;
    expect(byId.spans).toHaveLength(1);
    const stored = byId.spans[0]!;
    expect(stored).toMatchObject({ spanID: spanId, operationName: 'jaeger smoke span' });
    expect(stored.tags).toContainEqual(expect.objectContaining({ key: 'saga.id', value: 'smoke-1' }));
    expect(byId.processes[stored.processID]?.serviceName).toBe(service);
  });

  it('takes the documented ports when they are free and a free one when they are taken', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const other = await loopbackPort(port);
      expect(other).not.toBe(port);
      expect(other).toBeGreaterThan(0);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    expect(await loopbackPort(port)).toBe(port);
  });
});

describe('sagalane dev --tracing', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-dev-tracing-'));
  let child: ChildProcess | undefined;

  afterAll(() => {
    // tsx runs the CLI in a child process: signal the whole group, as a terminal's Ctrl-C does.
    if (child?.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts Jaeger with the stack, prints its UI in the banner, and stops it on SIGINT', async () => {
    const { OTEL_EXPORTER_OTLP_ENDPOINT: _e, OTEL_SERVICE_NAME: _s, ...inherited } = process.env;
    child = spawn(path.join(repoRoot, 'node_modules/.bin/tsx'), ['src/cli/index.ts', 'dev', '--tracing'], {
      cwd: repoRoot,
      env: {
        ...inherited,
        SAGALANE_DATA_DIR: dataDir,
        SAGALANE_TEMPORAL_PORT: String(await freePort()),
        SAGALANE_TEMPORAL_UI_PORT: String(await freePort()),
        SAGALANE_MCP_PORT: '0',
        SAGALANE_METRICS_PORT: '0',
        SAGALANE_TEMPORAL_METRICS_PORT: 'off',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    await waitFor(
      () => `the banner:\n${out}`,
      () => (child!.exitCode !== null ? Promise.reject(new Error(out)) : /Press Ctrl-C to stop/.test(out)),
      120_000,
    );
    const ui = /Jaeger UI \(traces\)\s+(http:\/\/127\.0\.0\.1:\d+)\/search\?service=sagalane-dev/.exec(
      out,
    )?.[1];
    const otlp = /OTLP\/HTTP \(traces\)\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(ui).toBeDefined();
    expect(otlp).toBeDefined();
    expect((await fetch(`${ui}/api/services`)).status).toBe(200);
    const pid = Number(fs.readFileSync(path.join(dataDir, 'jaeger', 'jaeger.pid'), 'utf8'));
    for (const address of listeningAddresses(pid)) expect(address).toMatch(/^127\.0\.0\.1:\d+$/);

    process.kill(-child.pid!, 'SIGINT');
    expect([0, 130]).toContain(await exited);
    expect(out).toContain('stopped jaeger');
    await expect(fetch(`${ui}/api/services`)).rejects.toThrow();
  });
});

interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startWorkerProcess(kind: 'saga' | 'express', env: NodeJS.ProcessEnv): WorkerProcess {
  const child = spawn(nodeBin, [cliPath, 'worker', kind], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (c: Buffer) => (output = (output + c.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe('one trace across the saga worker and the lane worker processes, read back from Jaeger', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-jaeger-e2e-'));
  const keyPrefix = uniquePrefix('tracing-jaeger');
  const run = randomUUID().slice(0, 8);
  const services = { saga: `sagalane-saga-worker-${run}`, lane: `sagalane-lane-worker-${run}` };
  const workers: WorkerProcess[] = [];
  let jaeger: JaegerServer | undefined;

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await jaeger?.stop();
    const redis = redisClient();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a pipeline run gives one trace holding spans of both processes', async () => {
    jaeger = await startJaeger({ dir, otlpHttpPort: 0, uiPort: 0, log: () => undefined });
    const taskQueue = uniqueTaskQueue('tracing-jaeger');
    const { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: _t, OTEL_SDK_DISABLED: _d, ...inherited } = process.env;
    const base: NodeJS.ProcessEnv = {
      ...inherited,
      TEMPORAL_ADDRESS: temporalAddress(),
      SAGALANE_TASK_QUEUE: taskQueue,
      SAGALANE_KEY_PREFIX: keyPrefix,
      REDIS_URL: redisUrl(),
      SAGALANE_METRICS_PORT: '0',
      SAGALANE_TEMPORAL_METRICS_PORT: 'off',
      SAGALANE_LOG_LEVEL: 'info',
      // Every span at once: the default batch delay (5 s) would only slow the test down.
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
    const envFor = (service: string) =>
      Object.fromEntries(
        Object.entries({ ...base, ...jaegerTracingEnv(jaeger!, service) }).filter(([, v]) => v !== undefined),
      );
    const saga = startWorkerProcess('saga', envFor(services.saga));
    const lane = startWorkerProcess('express', envFor(services.lane));
    workers.push(saga, lane);
    for (const w of [saga, lane])
      await waitFor(
        () => `a worker to run:\n${w.output()}`,
        () =>
          w.child.exitCode !== null
            ? Promise.reject(new Error(w.output()))
            : /running; Ctrl-C/.test(w.output()),
        180_000,
        100,
      );

    const ctx = await temporalTestContext();
    let sagaId: string;
    try {
      const sagas = new SagaClient(ctx.client, { taskQueue });
      ({ sagaId } = await sagas.startPipeline(
        { idea: `breakout to new highs ${run}`, symbol: 'DEMO' },
        { workflowId: `tracing-jaeger-${run}` },
      ));
      await sagas.result(sagaId);
    } finally {
      await ctx.closeAll();
    }

    // SIGTERM: each worker's shutdown flushes the spans it still holds.
    for (const w of workers) w.child.kill('SIGTERM');
    for (const w of workers) expect(await w.exited).toBe(0);

    const serviceOf = (t: JaegerTrace, processID: string) => t.processes[processID]?.serviceName;
    const trace = await waitFor(
      () => `a trace with spans of ${services.saga} and ${services.lane} in Jaeger`,
      async () => {
        const traces = await queryTraces(jaeger!, `?service=${services.saga}&lookback=1h&limit=100`);
        return traces.find((t) => {
          const names = new Set(t.spans.map((s) => serviceOf(t, s.processID)));
          return names.has(services.saga) && names.has(services.lane);
        });
      },
      30_000,
      500,
    );
    // Read by id as well: the whole trace, as the UI shows it.
    const full = (await queryTraces(jaeger, `/${trace.traceID}`))[0]!;
    const bySpanId = new Map(full.spans.map((s) => [s.spanID, s]));
    const laneSpans = full.spans.filter((s) => serviceOf(full, s.processID) === services.lane);
    const sagaSpans = full.spans.filter((s) => serviceOf(full, s.processID) === services.saga);
    expect(sagaSpans.length).toBeGreaterThan(0);
    expect(laneSpans.length).toBeGreaterThan(0);
    // The context crossed the lane: a lane-worker span whose parent is a saga-worker span (the step's activity).
    const crossing = laneSpans.filter((s) =>
      s.references.some(
        (r) =>
          r.refType === 'CHILD_OF' &&
          serviceOf(full, bySpanId.get(r.spanID)?.processID ?? '') === services.saga,
      ),
    );
    expect(crossing.length).toBeGreaterThan(0);
    // And it is this pipeline's trace.
    expect(full.spans.some((s) => s.tags.some((t) => t.key === 'saga.id' && t.value === sagaId))).toBe(true);
  });
});

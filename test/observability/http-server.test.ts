/**
 * The endpoints every long-running process serves, against a real Redis (our own redis-server on a free port, so
 * stopping it cannot disturb other test files) and the real Temporal dev server.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { Connection } from '@temporalio/client';
import Redis from 'ioredis';
import { temporalAddress } from '../helpers/temporal';
import { createMetrics } from '../../src/observability/metrics';
import {
  startObservabilityServer,
  ObservabilityServerError,
  type ObservabilityServer,
  type ReadinessReport,
} from '../../src/observability/http-server';
import { redisCheck, temporalCheck } from '../../src/observability/readiness';
import { freePort } from '../helpers/ports';
import { PrivateRedis } from '../helpers/private-redis';
import { waitFor } from '../helpers/wait';

async function readyz(server: ObservabilityServer): Promise<{ status: number; body: ReadinessReport }> {
  const res = await fetch(`${server.url}/readyz`);
  return { status: res.status, body: (await res.json()) as ReadinessReport };
}

describe('observability HTTP server', () => {
  let privateRedis: PrivateRedis;
  let redis: Redis;
  let temporal: Connection;
  let server: ObservabilityServer;
  const metrics = createMetrics();

  beforeAll(async () => {
    privateRedis = new PrivateRedis(await freePort());
    await privateRedis.start();
    redis = new Redis({
      host: '127.0.0.1',
      port: privateRedis.port,
      // Reconnect quickly so the test sees Redis come back within a second.
      retryStrategy: () => 100,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    redis.on('error', () => undefined);
    await waitFor('our redis-server to answer', () => redis.status === 'ready', 15_000);
    temporal = await Connection.connect({ address: temporalAddress() });
    server = await startObservabilityServer({
      port: 0,
      registry: metrics.registry,
      dependencyUp: metrics.dependencyUp,
      readiness: [redisCheck(redis, { timeoutMs: 1000 }), temporalCheck(temporal, { timeoutMs: 2000 })],
    });
  });

  afterAll(async () => {
    await server?.close();
    redis?.disconnect();
    await temporal?.close();
    await privateRedis?.destroy();
  });

  it('binds to 127.0.0.1 on a free port by default', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
  });

  it('answers /healthz with 200, unknown paths with 404 and other methods with 405', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'alive' });
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('serves /metrics in the Prometheus text format that promtool accepts as conventional', async () => {
    metrics.saga.started.inc({ workflow_type: 'researchPipeline' });
    metrics.express.waitSeconds.observe({ type: 'reasoning', lane: 'express' }, 0.02);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    // Every line is a comment (HELP/TYPE) or `name{labels} value`.
    // The value alternatives are grouped: ungrouped, `^…-?[0-9.e+-]+` alone would accept any line with such a prefix.
    const sample =
      /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/;
    for (const line of text.split('\n').filter(Boolean)) {
      if (!line.startsWith('#')) expect(line).toMatch(sample);
    }
    expect(text).toContain('sagalane_sagas_started_total{workflow_type="researchPipeline"} 1');
    expect(text).toContain(
      'sagalane_express_task_wait_seconds_bucket{le="0.025",type="reasoning",lane="express"} 1',
    );
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).toContain('nodejs_eventloop_lag_p99_seconds');

    const lint = (exposition: string) => {
      const r = spawnSync(promtoolPath(), ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
      return `${r.stdout}${r.stderr}`.trim();
    };
    // sagalane's own metrics follow every convention promtool knows.
    const own = text
      .split('\n')
      .filter((l) => /^(# (HELP|TYPE) )?sagalane_/.test(l))
      .join('\n');
    expect(own).toContain('sagalane_saga_duration_seconds');
    expect(lint(own + '\n')).toBe('');
    // The only findings in the whole output are prom-client's upstream gauge names, kept for stock dashboards.
    const findings = lint(text).split('\n').filter(Boolean);
    expect(
      findings.filter((f) => !/^nodejs_active_(handles|requests|resources)_total non-counter/.test(f)),
    ).toEqual([]);
  });

  it('turns /readyz 503 naming Redis while Redis is down, and 200 again when it returns', async () => {
    const before = await readyz(server);
    expect(before.status).toBe(200);
    expect(before.body.status).toBe('ready');
    expect(before.body.checks.map((c) => [c.name, c.ok])).toEqual([
      ['redis', true],
      ['temporal', true],
    ]);

    await privateRedis.crash();
    const down = await waitFor(
      '/readyz to report Redis down',
      async () => {
        const r = await readyz(server);
        return r.status === 503 && r;
      },
      15_000,
    );
    expect(down.body.status).toBe('not_ready');
    expect(down.body.failing).toEqual(['redis']);
    const redisResult = down.body.checks.find((c) => c.name === 'redis');
    expect(redisResult?.reason).toMatch(/Redis connection is (reconnecting|connecting|close)|did not answer/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    const scrape = await (await fetch(`${server.url}/metrics`)).text();
    expect(scrape).toContain('sagalane_dependency_up{dependency="redis"} 0');
    expect(scrape).toContain('sagalane_dependency_up{dependency="temporal"} 1');

    await privateRedis.start();
    const back = await waitFor(
      '/readyz to be ready again',
      async () => {
        const r = await readyz(server);
        return r.status === 200 && r;
      },
      15_000,
    );
    expect(back.body.failing).toEqual([]);
    const rescrape = await (await fetch(`${server.url}/metrics`)).text();
    expect(rescrape).toContain('sagalane_dependency_up{dependency="redis"} 1');
  });

  it('names a Temporal frontend that does not answer', async () => {
    // A TCP port that accepts connections and never speaks: the check's gRPC deadline must end the call.
    const sockets = new Set<net.Socket>();
    const blackHole = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const { port } = blackHole.address() as net.AddressInfo;
    const deadTemporal = Connection.lazy({ address: `127.0.0.1:${port}` });
    const other = await startObservabilityServer({
      port: 0,
      registry: createMetrics({ defaultMetrics: false }).registry,
      checkTimeoutMs: 5000,
      readiness: [temporalCheck(deadTemporal, { timeoutMs: 1000 })],
    });
    try {
      const r = await readyz(other);
      expect(r.status).toBe(503);
      expect(r.body.failing).toEqual(['temporal']);
      expect(r.body.checks[0]?.reason).toMatch(/DEADLINE_EXCEEDED|did not answer/i);
    } finally {
      await other.close();
      await deadTemporal.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    }
  });

  it('refuses bad options with a message that says what is wrong', async () => {
    const registry = createMetrics({ defaultMetrics: false }).registry;
    await expect(startObservabilityServer({ port: 70000, registry })).rejects.toThrow(
      ObservabilityServerError,
    );
    await expect(
      startObservabilityServer({
        port: 0,
        registry,
        readiness: [
          { name: 'redis', check: async () => undefined },
          { name: 'redis', check: async () => undefined },
        ],
      }),
    ).rejects.toThrow(/"redis" appears twice/);
    await expect(startObservabilityServer({ port: server.port, registry })).rejects.toThrow(
      /cannot listen on 127\.0\.0\.1/,
    );
  });
});

function promtoolPath(): string {
  for (const p of ['/usr/bin/promtool', ...(process.env.PATH ?? '').split(':').map((d) => `${d}/promtool`)]) {
    if (fs.existsSync(p)) return p;
  }
  throw new Error(
    'promtool is not installed: install Debian/Ubuntu package `prometheus` (.ci/run does) to lint metrics',
  );
}

describe('scrape-time stream statistics', () => {
  const stream = {
    type: 'echo',
    lane: 'express',
    length: 7,
    pending: 2,
    lag: 5,
    consumers: 1,
    deadLetters: 0,
  };

  it('reads stats() once per scrape for all stream gauges, and survives a failing read', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let reads = 0;
    let fail = false;
    const source = {
      async stats() {
        reads++;
        if (fail) throw new Error('connection is closed');
        return [stream];
      },
    };
    metrics.sources.laneStats.add(source);
    const server = await startObservabilityServer({ port: 0, registry: metrics.registry });
    try {
      const first = await (await fetch(`${server.url}/metrics`)).text();
      expect(first).toContain('sagalane_express_backlog_tasks{type="echo",lane="express"} 5');
      expect(first).toContain('sagalane_express_pending_tasks{type="echo",lane="express"} 2');
      expect(first).toContain('sagalane_express_stream_entries{type="echo",lane="express"} 7');
      expect(first).toContain('sagalane_express_consumers{type="echo",lane="express"} 1');
      expect(reads).toBe(1);

      fail = true;
      // Past the 500 ms reuse window, so this scrape reads Redis again and fails.
      await new Promise((r) => setTimeout(r, 600));
      const res = await fetch(`${server.url}/metrics`);
      expect(res.status).toBe(200);
      const second = await res.text();
      expect(second).not.toContain('sagalane_express_backlog_tasks{');
      expect(second).toContain('sagalane_express_stats_errors_total 1');
      expect(reads).toBe(2);
    } finally {
      await server.close();
    }
  });
});

/**
 * The observability endpoints of every long-running process: `GET /metrics` (Prometheus text exposition),
 * `GET /healthz` (the process is alive: always 200) and `GET /readyz` (200 when every readiness check passes in
 * time, else 503 with JSON naming each failing dependency and why). Anything else is 404 (405 for other methods).
 *
 * A `/metrics` scrape also runs the readiness checks, so `sagalane_dependency_up{dependency}` is fresh on every
 * scrape and alerts see Redis or Temporal go away even when nobody polls `/readyz`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Gauge } from 'prom-client';
import { withTimeout, type ReadinessCheck } from './readiness';

/** Extra routes on the endpoint: every request whose path is `prefix` or starts with `prefix/`, any method. */
export interface HttpMount {
  /** e.g. `/board`; must not be one of the endpoint's own paths. */
  prefix: string;
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
}

export interface ObservabilityServerOptions {
  /** Interface to bind. @defaultValue '127.0.0.1' */
  host?: string;
  /** Port to bind; 0 picks a free one (see the returned `port`). */
  port: number;
  registry: Registry;
  /** Dependencies `/readyz` requires. @defaultValue [] (always ready) */
  readiness?: readonly ReadinessCheck[];
  /** Time each check has before it counts as failed. @defaultValue 3000 */
  checkTimeoutMs?: number;
  /** Set from the checks on every `/metrics` scrape when given (see `createMetrics().dependencyUp`). */
  dependencyUp?: Gauge<'dependency'>;
  /** Extra routes served under their own prefix (see HttpMount). @defaultValue [] */
  mounts?: readonly HttpMount[];
}

export interface ObservabilityServer {
  /** `http://host:port`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  durationMs: number;
  /** Why the check failed. */
  reason?: string;
}

export interface ReadinessReport {
  status: 'ready' | 'not_ready';
  /** Names of the failing dependencies, e.g. `['redis']`. */
  failing: string[];
  checks: CheckResult[];
}

export class ObservabilityServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ObservabilityServerError';
  }
}

export async function runReadinessChecks(
  checks: readonly ReadinessCheck[],
  timeoutMs: number,
): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (c): Promise<CheckResult> => {
      const started = Date.now();
      try {
        await withTimeout(c.name, timeoutMs, c.check());
        return { name: c.name, ok: true, durationMs: Date.now() - started };
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        return { name: c.name, ok: false, durationMs: Date.now() - started, reason };
      }
    }),
  );
  const failing = results.filter((r) => !r.ok).map((r) => r.name);
  return { status: failing.length === 0 ? 'ready' : 'not_ready', failing, checks: results };
}

export async function startObservabilityServer(
  options: ObservabilityServerOptions,
): Promise<ObservabilityServer> {
  const host = options.host ?? '127.0.0.1';
  const readiness = options.readiness ?? [];
  const checkTimeoutMs = options.checkTimeoutMs ?? 3000;
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new ObservabilityServerError(`port must be an integer between 0 and 65535 (got ${options.port})`);
  }
  if (!(checkTimeoutMs > 0)) {
    throw new ObservabilityServerError(`checkTimeoutMs must be greater than 0 (got ${checkTimeoutMs})`);
  }
  const names = readiness.map((c) => c.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) {
    throw new ObservabilityServerError(`readiness check names must be unique; "${duplicate}" appears twice`);
  }

  const send = (res: http.ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  const sendJson = (res: http.ServerResponse, status: number, body: unknown) =>
    send(res, status, 'application/json; charset=utf-8', JSON.stringify(body) + '\n');

  const routes: Record<string, (res: http.ServerResponse) => Promise<void>> = {
    '/metrics': async (res) => {
      if (options.dependencyUp) {
        const report = await runReadinessChecks(readiness, checkTimeoutMs);
        for (const c of report.checks) options.dependencyUp.set({ dependency: c.name }, c.ok ? 1 : 0);
      }
      const body = await options.registry.metrics();
      send(res, 200, options.registry.contentType, body);
    },
    '/healthz': async (res) => sendJson(res, 200, { status: 'alive' }),
    '/readyz': async (res) => {
      const report = await runReadinessChecks(readiness, checkTimeoutMs);
      sendJson(res, report.status === 'ready' ? 200 : 503, report);
    },
  };

  const mounts = options.mounts ?? [];
  for (const m of mounts) {
    if (!/^\/[a-z0-9-]+$/.test(m.prefix) || m.prefix in routes) {
      throw new ObservabilityServerError(
        `mount prefix must look like "/board" and not shadow a route (got ${m.prefix})`,
      );
    }
  }

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const mount = mounts.find((m) => path === m.prefix || path.startsWith(`${m.prefix}/`));
    if (mount) return mount.handle(req, res);
    const route = routes[path];
    if (!route) return sendJson(res, 404, { error: `no route ${path}; try /metrics, /healthz or /readyz` });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { error: `${req.method} not allowed; use GET` });
    }
    route(res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });
  // Scrapers keep connections alive; close() must not wait for them.
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ObservabilityServerError(`cannot listen on ${host}:${options.port}: ${err.message}`)),
    );
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

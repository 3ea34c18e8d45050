/**
 * The observability wiring every long-running sagalane process shares: one metrics registry, the
 * `/metrics` `/healthz` `/readyz` server on `SAGALANE_METRICS_HOST:SAGALANE_METRICS_PORT`, and readiness checks for
 * the dependencies that process needs.
 */
import type { Config } from '../config';
import type { Logger } from '../logger';
import { startObservabilityServer, type ObservabilityServer } from './http-server';
import { createMetrics, type SagalaneMetrics } from './metrics';
import type { ReadinessCheck } from './readiness';

export interface ProcessEndpoints {
  metrics: SagalaneMetrics;
  server: ObservabilityServer;
  close(): Promise<void>;
}

export async function startProcessEndpoints(opts: {
  config: Config;
  /** `service` label on every series, e.g. `saga-worker`. */
  service: string;
  readiness: ReadinessCheck[];
  logger: Logger;
  /** Metrics already created (e.g. because a worker's sinks needed them first). */
  metrics?: SagalaneMetrics;
}): Promise<ProcessEndpoints> {
  const metrics = opts.metrics ?? createMetrics({ defaultLabels: { service: opts.service } });
  const server = await startObservabilityServer({
    host: opts.config.metrics.host,
    port: opts.config.metrics.port,
    registry: metrics.registry,
    readiness: opts.readiness,
    dependencyUp: metrics.dependencyUp,
  });
  opts.logger.info('observability endpoints listening', {
    metrics: `${server.url}/metrics`,
    healthz: `${server.url}/healthz`,
    readyz: `${server.url}/readyz`,
  });
  return { metrics, server, close: () => server.close() };
}

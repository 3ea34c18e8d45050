/**
 * Exposes the Temporal SDK's own worker metrics (task slots, poll and schedule-to-start latencies, sticky cache,
 * request failures…) through Core's built-in Prometheus exporter, on a port of its own: Prometheus scrapes it as a
 * second target next to the process's `/metrics` (see docs/OBSERVABILITY.md).
 *
 * Names start with `temporal_`, counters end in `_total` and durations are in seconds with a `_seconds` suffix, to
 * match the conventions of sagalane's own metrics.
 *
 * The Temporal Runtime is a per-process singleton: call this before the first Worker or NativeConnection is
 * created, or it throws.
 */
import { Runtime, type RuntimeOptions } from '@temporalio/worker';

export interface TemporalRuntimeMetricsOptions {
  /** Port of the SDK's metrics endpoint (`/metrics`). In docker-compose: 9465. */
  port: number;
  /** Interface to bind. @defaultValue '127.0.0.1' */
  host?: string;
  /** The Runtime's logger (RuntimeOptions.logger). @defaultValue the SDK's default logger */
  logger?: RuntimeOptions['logger'];
}

export class TemporalRuntimeAlreadyInstalledError extends Error {
  constructor(cause: Error) {
    super(
      `Cannot enable Temporal SDK metrics: ${cause.message}. Call installTemporalRuntimeMetrics() at process start, ` +
        'before any Worker or NativeConnection is created.',
    );
    this.name = 'TemporalRuntimeAlreadyInstalledError';
  }
}

/** Installs the Temporal Runtime with the Prometheus exporter; returns the exporter's URL. */
export function installTemporalRuntimeMetrics(options: TemporalRuntimeMetricsOptions): string {
  const host = options.host ?? '127.0.0.1';
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    // Port 0 would bind somewhere Core never tells us, so nobody could scrape it.
    throw new Error(`Temporal SDK metrics port must be 1-65535 (got ${options.port})`);
  }
  const bindHost = host.includes(':') ? `[${host}]` : host;
  try {
    Runtime.install({
      ...(options.logger ? { logger: options.logger } : {}),
      telemetryOptions: {
        metrics: {
          metricPrefix: 'temporal_',
          prometheus: {
            bindAddress: `${bindHost}:${options.port}`,
            countersTotalSuffix: true,
            unitSuffix: true,
            useSecondsForDurations: true,
          },
        },
      },
    });
  } catch (err) {
    if (err instanceof Error && err.name === 'IllegalStateError')
      throw new TemporalRuntimeAlreadyInstalledError(err);
    throw err;
  }
  return `http://${bindHost}:${options.port}/metrics`;
}

/** The process's Temporal Runtime: where the SDK's own log and metrics go. */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Config } from '../config';
import { createLogger } from '../logger';
import { installTemporalRuntimeMetrics, TemporalRuntimeAlreadyInstalledError } from '../observability';

/**
 * Installs the process's Temporal Runtime once, before any connection or dev server exists (it is a per-process
 * singleton): the SDK's log goes into sagalane's structured log on stderr instead of the console (bundler output
 * included), and the SDK's own worker metrics are served on SAGALANE_TEMPORAL_METRICS_PORT unless that is `off`.
 * Returns the SDK metrics URL when it serves one.
 */
export function installTemporalRuntime(config: Config): string | undefined {
  const logger = createLogger(config.logLevel, { component: 'temporal-sdk' });
  const runtimeLogger = new DefaultLogger('WARN', (entry) =>
    logger[entry.level === 'ERROR' ? 'error' : 'warn'](entry.message, entry.meta),
  );
  try {
    if (config.metrics.temporalSdkPort !== 'off') {
      return installTemporalRuntimeMetrics({
        port: config.metrics.temporalSdkPort,
        host: config.metrics.host,
        logger: runtimeLogger,
      });
    }
    Runtime.install({ logger: runtimeLogger });
  } catch (err) {
    // Already installed in this process (an embedding service or a test did it): keep that one.
    if (!(err instanceof TemporalRuntimeAlreadyInstalledError) && (err as Error).name !== 'IllegalStateError')
      throw err;
  }
  return undefined;
}

/**
 * Runs a process's components against an existing Temporal and Redis (a `sagalane worker` or `sagalane mcp --http`
 * process): starts them in order, prints their endpoints, and stops them in reverse order on SIGTERM / SIGINT.
 */
import type { Config } from '../config';
import { redactText, redactUrl } from '../logger';
import { createMetrics } from '../observability';
import { untilSignalled } from './signals';
import type { StackComponent } from './stack';
import { installTemporalRuntime } from './temporal-runtime';

export interface RunComponentsOptions {
  /** Temporal frontend; empty for processes that do not use Temporal. */
  temporalAddress: string;
  /** The `service` label on every metric series, e.g. `saga-worker`. */
  service: string;
  /** @defaultValue lines on stderr */
  log?: (line: string) => void;
  /** Resolves when the process should stop. @defaultValue the first SIGINT or SIGTERM */
  until?: Promise<unknown>;
}

export async function runComponents(
  config: Config,
  components: StackComponent[],
  opts: RunComponentsOptions,
): Promise<void> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const running: { name: string; stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const r of running.reverse()) {
      try {
        await r.stop();
      } catch (err) {
        log(`[sagalane] ${r.name} did not stop cleanly: ${redactText((err as Error).message)}`);
      }
    }
  };
  const until = opts.until ?? untilSignalled();
  try {
    // Processes without Temporal (an express worker) pass no address and need no Temporal Runtime.
    const sdkMetricsUrl = opts.temporalAddress ? installTemporalRuntime(config) : undefined;
    if (sdkMetricsUrl) log(`[sagalane] Temporal SDK metrics: ${sdkMetricsUrl}`);
    const metrics = createMetrics({ defaultLabels: { service: opts.service } });
    for (const component of components) {
      const started = await component.start({ config, temporalAddress: opts.temporalAddress, metrics, log });
      running.push({ name: component.name, stop: started.stop });
      // Without credentials: an address may be a REDIS_URL with its password.
      for (const [name, url] of Object.entries(started.endpoints ?? {}))
        log(`[sagalane] ${name}: ${redactUrl(url)}`);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  log('[sagalane] running; Ctrl-C or SIGTERM stops it');
  // The SDK's native runtime does not keep Node's event loop alive: hold it open until told to stop.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    await until;
  } finally {
    log('[sagalane] stopping...');
    await stopAll();
    clearInterval(keepAlive);
  }
}

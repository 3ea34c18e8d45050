/**
 * `sagalane dev` / `npm start`: the whole local stack in one process with embedded defaults.
 *
 * Brings up the dependencies first (Redis at REDIS_URL or a local redis-server, a Temporal dev server with durable
 * state in `<dataDir>/temporal.db` and the Web UI on, unless TEMPORAL_ADDRESS points elsewhere), then each sagalane
 * component, prints every endpoint, and on Ctrl-C / SIGTERM stops everything in reverse order so no process is left.
 */
import { boardAddOn } from '../board/board-add-on';
import fs from 'node:fs';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config';
import { mcpHttpComponent } from '../mcp/http-component';
import { redactText, redactUrl } from '../logger';
import { createMetrics } from '../observability';
import { expressWorkerComponent, metricsComponent, sagaWorkerComponent } from '../runtime/components';
import { untilSignalled } from '../runtime/signals';
import type { StackComponent } from '../runtime/stack';
import { connectionSettings } from '../runtime/temporal-connection';
import { installTemporalRuntime } from '../runtime/temporal-runtime';
import { applyEnv, jaegerTracingEnv, startJaeger } from './jaeger';
import { ensureRedis } from './redis-server';
import { devTemporalPostgresOptions, startTemporalOnPostgres } from './temporal-postgres';
import { startTemporalDevServer } from './temporal-server';

/** Everything `sagalane dev` runs after Redis and Temporal: both workers, the MCP HTTP endpoint, metrics. */
export function devStackComponents(): StackComponent[] {
  return [
    sagaWorkerComponent(),
    expressWorkerComponent(),
    mcpHttpComponent(),
    metricsComponent(boardAddOn()),
  ];
}

/**
 * The "sagalane is running" list, one line per endpoint, names aligned. Addresses lose their credentials: REDIS_URL
 * may carry a password, and this list goes to the terminal and to whatever collects its output.
 */
export function endpointLines(endpoints: Record<string, string>): string[] {
  const width = Math.max(0, ...Object.keys(endpoints).map((k) => k.length));
  return Object.entries(endpoints).map(([name, url]) => `  ${name.padEnd(width)}  ${redactUrl(url)}`);
}

export interface DevStackOptions {
  components?: StackComponent[];
  log?: (line: string) => void;
  /** Resolves when the stack should stop; default: first SIGINT or SIGTERM. */
  until?: Promise<unknown>;
  /** The `service` label on every metric series. @defaultValue 'sagalane-dev' */
  service?: string;
  /**
   * Where the local Temporal keeps its state: `sqlite` (the dev server, `<dataDir>/temporal.db`) or `postgres` (a
   * Temporal server on SAGALANE_POSTGRES_URL, src/dev/temporal-postgres.ts). @defaultValue 'sqlite'
   */
  persistence?: 'sqlite' | 'postgres';
  /**
   * Start Jaeger (src/dev/jaeger.ts, state in `<dataDir>/jaeger`) and point the whole stack at it through the
   * standard OTEL_* variables, set in this process before any component starts and so inherited by every child.
   * @defaultValue false
   */
  tracing?: boolean;
}

/**
 * Starts Jaeger and sets OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf and OTEL_SERVICE_NAME
 * (the shell's, else `service`) in process.env. Tracing itself starts where the components start it
 * (src/observability/tracing.ts reads these variables when it starts), which must come after this.
 */
async function startLocalTracing(
  config: Config,
  service: string,
  log: (line: string) => void,
): Promise<{ stop: () => Promise<void>; endpoints: Record<string, string> }> {
  log('[sagalane] Starting Jaeger for --tracing...');
  const jaeger = await startJaeger({ dir: path.join(config.dataDir, 'jaeger'), log });
  if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
    log(
      `[sagalane]   --tracing: the OTLP endpoint set in the environment is replaced by ${jaeger.otlpEndpoint}`,
    );
  applyEnv(jaegerTracingEnv(jaeger, process.env.OTEL_SERVICE_NAME?.trim() || service));
  return {
    stop: jaeger.stop,
    endpoints: {
      'Jaeger UI (traces)': `${jaeger.uiUrl}/search?service=${encodeURIComponent(process.env.OTEL_SERVICE_NAME!)}`,
      'OTLP/HTTP (traces)': jaeger.otlpEndpoint,
    },
  };
}

export async function runDevStack(config: Config, opts: DevStackOptions = {}): Promise<void> {
  const log = opts.log ?? ((l: string) => process.stdout.write(l + '\n'));
  const stops: { name: string; stop: () => Promise<void> }[] = [];
  const endpoints: Record<string, string> = {};
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    log('[sagalane] Stopping the local stack...');
    for (const s of stops.reverse()) {
      try {
        await s.stop();
        log(`[sagalane]   stopped ${s.name}`);
      } catch (err) {
        log(`[sagalane]   ${s.name} did not stop cleanly: ${redactText((err as Error).message)}`);
      }
    }
  };
  const until = opts.until ?? untilSignalled();

  try {
    // First: the OTEL_* variables must be in place before anything that could start tracing, children included.
    if (opts.tracing) {
      const tracing = await startLocalTracing(config, opts.service ?? 'sagalane-dev', log);
      stops.push({ name: 'jaeger', stop: tracing.stop });
      Object.assign(endpoints, tracing.endpoints);
    }
    const sdkMetricsUrl = installTemporalRuntime(config);
    fs.mkdirSync(config.dataDir, { recursive: true });
    const redis = await ensureRedis(config.redisUrl, config.dataDir, log);
    stops.push({ name: redis.started ? 'redis-server' : 'redis (external, left running)', stop: redis.stop });
    endpoints['Redis'] = config.redisUrl + (redis.started ? ' (started by sagalane)' : '');

    let temporalAddress = config.temporal.address;
    if (temporalAddress) {
      endpoints['Temporal gRPC'] = `${temporalAddress} (external)`;
    } else if (opts.persistence === 'postgres') {
      const temporal = await startTemporalOnPostgres({ ...devTemporalPostgresOptions(config), log });
      stops.push({ name: 'temporal server (postgresql)', stop: temporal.stop });
      temporalAddress = temporal.address;
      endpoints['Temporal gRPC'] =
        `${temporal.address} (PostgreSQL ${temporal.pg.database} on ${temporal.pg.host}:${temporal.pg.port})`;
      endpoints['Temporal UI'] = temporal.uiUrl!;
    } else {
      log(
        `[sagalane] Starting the Temporal dev server (state in ${path.join(config.dataDir, 'temporal.db')})...`,
      );
      const temporal = await startTemporalDevServer({
        port: config.temporal.devPort,
        uiPort: config.temporal.devUiPort,
        dbFilename: path.join(config.dataDir, 'temporal.db'),
        namespace: config.temporal.namespace,
        log,
      });
      stops.push({ name: 'temporal dev server', stop: temporal.stop });
      temporalAddress = temporal.address;
      endpoints['Temporal gRPC'] = temporal.address;
      endpoints['Temporal UI'] = temporal.uiUrl!;
    }

    if (sdkMetricsUrl) endpoints['Temporal SDK metrics'] = `${sdkMetricsUrl}`;
    const metrics = createMetrics({ defaultLabels: { service: opts.service ?? 'sagalane-dev' } });
    // One connection for the saga worker and the MCP endpoint: sagas started through MCP start eagerly on the worker.
    const temporalConnection = await NativeConnection.connect(
      connectionSettings(config.temporal, temporalAddress),
    );
    stops.push({ name: 'temporal connection', stop: () => temporalConnection.close() });
    for (const component of opts.components ?? []) {
      const running = await component.start({ config, temporalAddress, metrics, log, temporalConnection });
      stops.push({ name: component.name, stop: running.stop });
      Object.assign(endpoints, running.endpoints ?? {});
    }

    log('');
    log('sagalane is running:');
    for (const line of endpointLines(endpoints)) log(line);
    log('Press Ctrl-C to stop.');
  } catch (err) {
    await shutdown();
    throw err;
  }
  // The dev server runs under the SDK's native runtime, which does not keep Node's event loop alive: hold it open.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    await until;
  } finally {
    // Keep the loop alive through the shutdown too: stopping the dev server awaits native work only.
    await shutdown();
    clearInterval(keepAlive);
  }
}

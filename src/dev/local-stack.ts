/**
 * `sagalane dev` / `npm start`: the whole local stack in one process with embedded defaults.
 *
 * Brings up the dependencies first (Redis at REDIS_URL or a local redis-server, a Temporal dev server with durable
 * state in `<dataDir>/temporal.db` and the Web UI on, unless TEMPORAL_ADDRESS points elsewhere), then each sagalane
 * component, prints every endpoint, and on Ctrl-C / SIGTERM stops everything in reverse order so no process is left.
 */
import fs from 'node:fs';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import path from 'node:path';
import type { Config } from '../config';
import { DEFAULT_TASK_SCHEMAS, openLazyFrontDoor } from '../client/front-door';
import { ExpressClient } from '../lane/express-client';
import { connectTemporal } from '../client/temporal-connection';
import { openLaneConnection } from '../lane/redis-connections';
import { createLogger } from '../logger';
import { startMcpHttpServer } from '../mcp/http-server';
import { createMcpServer } from '../mcp/server';
import {
  createMetrics,
  createSagaMetricsSinks,
  installTemporalRuntimeMetrics,
  instrumentExpressClient,
  redisCheck,
  startObservabilityServer,
  temporalCheck,
  TemporalRuntimeAlreadyInstalledError,
  type ReadinessCheck,
  type SagalaneMetrics,
} from '../observability';
import { startExpressWorker } from '../workers/express-worker';
import { startSagaWorker } from '../workers/saga-worker';
import { ensureRedis } from './redis-server';
import { startTemporalDevServer } from './temporal-server';

/**
 * Resolves on the first SIGINT or SIGTERM. The handler stays installed for the rest of the process, so a second
 * signal (a terminal's Ctrl-C reaches both tsx and this process, and tsx forwards it again) does not kill the process
 * halfway through its orderly shutdown.
 */
export function untilSignalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) return;
      received = signal;
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** A part of the stack that `sagalane dev` starts after Redis and Temporal are up. */
export interface StackComponent {
  name: string;
  start(ctx: StackContext): Promise<RunningComponent>;
}
export interface RunningComponent {
  /** Endpoint lines to print, e.g. `{ 'MCP (HTTP)': 'http://127.0.0.1:7300/mcp' }`. */
  endpoints?: Record<string, string>;
  stop(): Promise<void>;
}
export interface StackContext {
  config: Config;
  temporalAddress: string;
  log: (line: string) => void;
}

export interface DevStackOptions {
  components?: StackComponent[];
  log?: (line: string) => void;
  /** Resolves when the stack should stop; default: first SIGINT or SIGTERM. */
  until?: Promise<unknown>;
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
        log(`[sagalane]   ${s.name} did not stop cleanly: ${(err as Error).message}`);
      }
    }
  };
  const until = opts.until ?? untilSignalled();

  try {
    const sdkMetricsUrl = installTemporalRuntime(config);
    fs.mkdirSync(config.dataDir, { recursive: true });
    const redis = await ensureRedis(config.redisUrl, config.dataDir, log);
    stops.push({ name: redis.started ? 'redis-server' : 'redis (external, left running)', stop: redis.stop });
    endpoints['Redis'] = config.redisUrl + (redis.started ? ' (started by sagalane)' : '');

    let temporalAddress = config.temporal.address;
    if (temporalAddress) {
      endpoints['Temporal gRPC'] = `${temporalAddress} (external)`;
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
    for (const component of opts.components ?? []) {
      const running = await component.start({ config, temporalAddress, log });
      stops.push({ name: component.name, stop: running.stop });
      Object.assign(endpoints, running.endpoints ?? {});
    }

    log('');
    log('sagalane is running:');
    const width = Math.max(...Object.keys(endpoints).map((k) => k.length));
    for (const [name, url] of Object.entries(endpoints)) log(`  ${name.padEnd(width)}  ${url}`);
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

export type ComponentName = 'saga-worker' | 'express-worker' | 'mcp-http' | 'metrics';

export interface SagalaneComponentsOptions {
  /** Which parts to run. @defaultValue all four */
  include?: ComponentName[];
  /** MCP HTTP: register only the read tools. @defaultValue false */
  readOnly?: boolean;
  /** MCP HTTP port (0 = a free one). @defaultValue `config.mcp.port` */
  mcpPort?: number;
  /** Label on every metric series. @defaultValue 'sagalane' */
  service?: string;
}

/**
 * sagalane's own long-running parts as stack components, sharing one metrics registry: the saga worker (lifecycle
 * metrics through its sinks), the express worker, the MCP Streamable HTTP endpoint and `/metrics` `/healthz`
 * `/readyz` (readiness: Redis and Temporal). `sagalane dev` runs all four; `sagalane worker` and `sagalane mcp --http`
 * run a subset.
 */
export function sagalaneComponents(options: SagalaneComponentsOptions = {}): StackComponent[] {
  const include = new Set<ComponentName>(
    options.include ?? ['saga-worker', 'express-worker', 'mcp-http', 'metrics'],
  );
  let metrics: SagalaneMetrics | undefined;
  const sharedMetrics = () =>
    (metrics ??= createMetrics({ defaultLabels: { service: options.service ?? 'sagalane' } }));
  const components: StackComponent[] = [];

  if (include.has('saga-worker')) {
    components.push({
      name: 'saga worker',
      async start({ config, temporalAddress }) {
        const logger = createLogger(config.logLevel, { component: 'saga-worker' });
        const handle = await startSagaWorker({
          config,
          address: temporalAddress,
          logger,
          sinks: include.has('metrics') ? createSagaMetricsSinks(sharedMetrics(), { logger }) : undefined,
        });
        return {
          endpoints: { 'Saga worker': `task queue ${config.temporal.taskQueue}` },
          stop: () => handle.stop(),
        };
      },
    });
  }
  if (include.has('express-worker')) {
    components.push({
      name: 'express worker',
      async start({ config, temporalAddress }) {
        const logger = createLogger(config.logLevel, { component: 'express-worker' });
        const running = await startExpressWorker({
          config,
          temporalAddress: temporalAddress || undefined,
          logger,
          metrics: include.has('metrics') ? sharedMetrics() : undefined,
        });
        return {
          endpoints: { 'Express worker': `Redis key prefix ${config.keyPrefix}` },
          stop: () => running.stop(),
        };
      },
    });
  }
  if (include.has('mcp-http')) {
    components.push({
      name: 'MCP HTTP endpoint',
      async start({ config, temporalAddress }) {
        const door = openLazyFrontDoor(config, { address: temporalAddress });
        try {
          const sagas = await door.sagas();
          const express = await door.express();
          // Count submissions made through MCP; stream gauges come from the metrics component.
          if (include.has('metrics'))
            instrumentExpressClient(express, sharedMetrics(), { streamStats: false });
          const server = await startMcpHttpServer({
            createServer: () => createMcpServer({ sagas, express, readOnly: options.readOnly }),
            host: config.mcp.host,
            port: options.mcpPort ?? config.mcp.port,
            token: config.mcp.token,
            allowedHosts: config.mcp.allowedHosts,
            allowedOrigins: config.mcp.allowedOrigins,
            logger: createLogger(config.logLevel, { component: 'mcp-http' }),
          });
          return {
            endpoints: { 'MCP (HTTP)': server.url + (options.readOnly ? ' (read-only)' : '') },
            async stop() {
              await server.close();
              await door.close();
            },
          };
        } catch (err) {
          await door.close();
          throw err;
        }
      },
    });
  }
  if (include.has('metrics')) {
    components.push({
      name: 'metrics endpoint',
      async start({ config, temporalAddress }) {
        const m = sharedMetrics();
        const redis = openLaneConnection(config.redisUrl, 'client', { lazyConnect: false });
        redis.on('error', () => undefined);
        // Backlog, pending and consumers per stream are read from Redis at scrape time through a client.
        const laneStats = new ExpressClient({
          types: DEFAULT_TASK_SCHEMAS,
          redisUrl: config.redisUrl,
          keyPrefix: config.keyPrefix,
        });
        const detachStats = instrumentExpressClient(laneStats, m);
        const checks: ReadinessCheck[] = [redisCheck(redis)];
        // Only processes that talk to Temporal are unready without it (an express worker is not).
        const temporal =
          include.has('saga-worker') || include.has('mcp-http')
            ? await connectTemporal(config.temporal, temporalAddress)
            : undefined;
        if (temporal) checks.push(temporalCheck(temporal));
        const release = async () => {
          detachStats();
          await laneStats.close();
          await temporal?.close();
          redis.disconnect();
        };
        try {
          const server = await startObservabilityServer({
            host: config.metrics.host,
            port: config.metrics.port,
            registry: m.registry,
            readiness: checks,
            dependencyUp: m.dependencyUp,
          });
          return {
            endpoints: { Metrics: `${server.url}/metrics (health: /healthz, /readyz)` },
            async stop() {
              await server.close();
              await release();
            },
          };
        } catch (err) {
          await release();
          throw err;
        }
      },
    });
  }
  return components;
}

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

/**
 * Runs components against an existing Temporal and Redis (a `sagalane worker` or `sagalane mcp --http` process):
 * starts them in order, prints their endpoints, and stops them in reverse order when `until` resolves.
 */
export async function runComponents(
  config: Config,
  components: StackComponent[],
  opts: {
    /** Temporal frontend; empty for processes that do not use Temporal. */
    temporalAddress: string;
    log?: (line: string) => void;
    until?: Promise<unknown>;
  },
): Promise<void> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const running: { name: string; stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const r of running.reverse()) {
      try {
        await r.stop();
      } catch (err) {
        log(`[sagalane] ${r.name} did not stop cleanly: ${(err as Error).message}`);
      }
    }
  };
  const until = opts.until ?? untilSignalled();
  try {
    // Processes without Temporal (an express worker) pass no address and need no Temporal Runtime.
    const sdkMetricsUrl = opts.temporalAddress ? installTemporalRuntime(config) : undefined;
    if (sdkMetricsUrl) log(`[sagalane] Temporal SDK metrics: ${sdkMetricsUrl}`);
    for (const component of components) {
      const started = await component.start({ config, temporalAddress: opts.temporalAddress, log });
      running.push({ name: component.name, stop: started.stop });
      for (const [name, url] of Object.entries(started.endpoints ?? {})) log(`[sagalane] ${name}: ${url}`);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  log('[sagalane] running; Ctrl-C or SIGTERM stops it');
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    await until;
  } finally {
    log('[sagalane] stopping...');
    await stopAll();
    clearInterval(keepAlive);
  }
}

/**
 * sagalane's own long-running parts as stack components: the saga worker (lifecycle metrics through its sinks), the
 * express worker, and `/metrics` `/healthz` `/readyz`. Each records into the process's one registry (`ctx.metrics`).
 * `sagalane dev` runs all of them (plus the MCP endpoint, src/mcp/http-component.ts); `sagalane worker` a subset.
 */
import { Connection } from '@temporalio/client';
import { ExpressClient } from '../lane/express-client';
import { openLaneConnection } from '../lane/redis-connections';
import { createLogger } from '../logger';
import {
  createSagaMetricsSinks,
  instrumentExpressClient,
  redisCheck,
  startObservabilityServer,
  temporalCheck,
  type HttpMount,
  type ReadinessCheck,
} from '../observability';
import { startExpressWorker } from './express-worker';
import { startSagaWorker } from './saga-worker';
import type { StackComponent, StackContext } from './stack';
import { DEFAULT_TASK_SCHEMAS } from './task-schemas';
import { loadSagaModule } from '../catalog/saga-module';
import { stepTaskSchemas } from '../dispatch/activity-step-contract';
import { connectionSettings } from './temporal-connection';

export type WorkerKind = 'saga' | 'express' | 'all';

/** The saga worker on `config.temporal.taskQueue`, its lifecycle events counted in the process's metrics. */
export function sagaWorkerComponent(): StackComponent {
  return {
    name: 'saga worker',
    async start({ config, temporalAddress, metrics, temporalConnection }) {
      const logger = createLogger(config.logLevel, { component: 'saga-worker' });
      // SAGALANE_SAGAS: the user's catalog (and, run inline, its activities); else the research pipeline.
      const sagas = loadSagaModule(config.sagasModule);
      const handle = await startSagaWorker({
        config,
        catalog: sagas.catalog,
        ...(sagas.activities && config.stepDispatch === 'inline' ? { activities: sagas.activities } : {}),
        address: temporalAddress,
        connection: temporalConnection,
        logger,
        sinks: createSagaMetricsSinks(metrics, { logger }),
      });
      return {
        endpoints: {
          'Saga worker': `task queue ${config.temporal.taskQueue}, sagas ${sagas.catalog.types.join(', ')}`,
        },
        stop: () => handle.stop(),
      };
    },
  };
}

/** An express worker serving the built-in and agent task types, its events counted in the process's metrics. */
export function expressWorkerComponent(): StackComponent {
  return {
    name: 'express worker',
    async start({ config, temporalAddress, metrics }) {
      const logger = createLogger(config.logLevel, { component: 'express-worker' });
      // With a Temporal address the worker also runs lane-dispatched saga steps and completes their activities.
      // The process's shutdown grace (SAGALANE_SHUTDOWN_GRACE_MS) is how long SIGTERM lets running tasks finish.
      const sagas = loadSagaModule(config.sagasModule);
      const running = await startExpressWorker({
        config,
        catalog: sagas.catalog,
        ...(sagas.stepHandlers ? { stepHandlers: sagas.stepHandlers } : {}),
        maxWaitMs: config.maxWaitMs,
        logger,
        metrics,
        temporalAddress: temporalAddress || undefined,
        drainTimeoutMs: config.shutdownGraceMs,
      });
      return {
        endpoints: { 'Express worker': `Redis key prefix ${config.keyPrefix}` },
        stop: () => running.stop(),
      };
    },
  };
}

/**
 * Something a front door adds to the metrics endpoint (the lane board, src/board): routes under their own prefix, or,
 * when it serves on a port of its own, none; `close` runs when the endpoint stops. Runtime code cannot import front
 * doors, so entry points pass it in.
 */
export interface MetricsAddOn {
  start(ctx: StackContext): Promise<{
    /** Routes on the endpoint, and the name of its endpoint line (`Board: http://…/board`). */
    mount?: { route: HttpMount; label: string; note?: string };
    endpoints?: Record<string, string>;
    close(): Promise<void>;
  }>;
}

/**
 * `/metrics` (with per-stream backlog gauges read from Redis at scrape time), `/healthz`, and `/readyz` checking
 * Redis and, in a process that uses Temporal (`ctx.temporalAddress` set), Temporal. Neither is connected eagerly: a
 * process whose backend is down still starts and reports itself unready until the backend answers.
 */
export function metricsComponent(addOn?: MetricsAddOn): StackComponent {
  return {
    name: 'metrics endpoint',
    async start(ctx) {
      const { config, temporalAddress, metrics } = ctx;
      const redis = openLaneConnection(config.redisUrl, 'client', { lazyConnect: false });
      redis.on('error', () => undefined);
      const laneStats = new ExpressClient({
        // Lane-dispatched saga steps (`step.reasoning`, …) too: their backlog gauges show the saga side of the lane.
        types: [
          ...DEFAULT_TASK_SCHEMAS,
          ...stepTaskSchemas(Object.keys(loadSagaModule(config.sagasModule).catalog.dispatchSteps())),
        ],
        redisUrl: config.redisUrl,
        keyPrefix: config.keyPrefix,
      });
      const detachStats = instrumentExpressClient(laneStats, metrics);
      const checks: ReadinessCheck[] = [redisCheck(redis)];
      // Only processes that talk to Temporal are unready without it (an express worker is not).
      const temporal = temporalAddress
        ? Connection.lazy(connectionSettings(config.temporal, temporalAddress))
        : undefined;
      if (temporal) checks.push(temporalCheck(temporal));
      let added: Awaited<ReturnType<MetricsAddOn['start']>> | undefined;
      const release = async () => {
        await added?.close();
        detachStats();
        await laneStats.close();
        await temporal?.close();
        redis.disconnect();
      };
      try {
        added = await addOn?.start(ctx);
        const server = await startObservabilityServer({
          host: config.metrics.host,
          port: config.metrics.port,
          registry: metrics.registry,
          readiness: checks,
          dependencyUp: metrics.dependencyUp,
          mounts: added?.mount ? [added.mount.route] : [],
        });
        const m = added?.mount;
        const mounted = m ? { [m.label]: `${server.url}${m.route.prefix}${m.note ? ` ${m.note}` : ''}` } : {};
        return {
          endpoints: {
            Metrics: `${server.url}/metrics (health: /healthz, /readyz)`,
            ...mounted,
            ...added?.endpoints,
          },
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
  };
}

/** A `sagalane worker <kind>` process: the workers of that kind, then the metrics endpoint (with `addOn`). */
export function workerComponents(kind: WorkerKind, addOn?: MetricsAddOn): StackComponent[] {
  return [
    ...(kind !== 'express' ? [sagaWorkerComponent()] : []),
    ...(kind !== 'saga' ? [expressWorkerComponent()] : []),
    metricsComponent(addOn),
  ];
}

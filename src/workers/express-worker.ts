/**
 * The express-lane worker process. `startExpressWorker` runs one in-process (used by `sagalane dev`); run this file
 * directly (`tsx src/workers/express-worker.ts`) for a standalone worker that serves the built-in and agent task
 * types, exposes /metrics, /healthz and /readyz, and drains on SIGTERM/SIGINT.
 */
import type Redis from 'ioredis';
import { agentDepsFromConfig } from '../activities/agents';
import { loadConfigOrExit, type Config } from '../config';
import { createLogger, type Logger } from '../logger';
import { builtinTaskTypes } from '../lane/builtin-task-types';
import { createAgentTaskTypes } from '../lane/agent-task-types';
import { ExpressWorker, type ExpressWorkerOptions } from '../lane/express-worker';
import { openLaneConnection } from '../lane/redis-connections';
import type { TaskType } from '../lane/task-types';
import {
  createMetrics,
  instrumentExpressWorker,
  redisCheck,
  startObservabilityServer,
  type SagalaneMetrics,
} from '../observability';

export interface StartExpressWorkerOptions extends Omit<
  ExpressWorkerOptions,
  'types' | 'redisUrl' | 'keyPrefix'
> {
  config: Config;
  /** Task types to serve. @defaultValue the built-in types (`echo`, `hash`) and the agent types */
  types?: TaskType[];
  /** Metrics to record the worker's events in. @defaultValue none */
  metrics?: SagalaneMetrics;
}

export interface RunningExpressWorker {
  worker: ExpressWorker;
  /** Graceful: stops reading, drains in-flight tasks (up to `drainTimeoutMs`), closes connections. */
  stop(): Promise<void>;
}

export async function startExpressWorker(options: StartExpressWorkerOptions): Promise<RunningExpressWorker> {
  const { config, types, metrics, ...rest } = options;
  const logger: Logger = rest.logger ?? createLogger(config.logLevel);
  const ownConnection = !rest.connection;
  const connection: Redis = rest.connection ?? openLaneConnection(config.redisUrl, 'worker-commands');
  const served = types ?? [
    ...builtinTaskTypes,
    ...createAgentTaskTypes(agentDepsFromConfig(config, connection, logger)),
  ];
  const worker = new ExpressWorker({
    ...rest,
    types: served as TaskType[],
    redisUrl: config.redisUrl,
    keyPrefix: config.keyPrefix,
    logger,
    connection,
  });
  const detach = metrics ? instrumentExpressWorker(worker, metrics) : undefined;
  await worker.start();
  return {
    worker,
    async stop() {
      await worker.stop();
      detach?.();
      if (ownConnection) await connection.quit().catch(() => connection.disconnect());
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel).child({ process: 'express-worker' });
  const metrics = createMetrics({ defaultLabels: { service: 'express-worker' } });
  const connection = openLaneConnection(config.redisUrl, 'worker-commands');
  const running = await startExpressWorker({ config, metrics, logger, connection });
  const server = await startObservabilityServer({
    host: config.metrics.host,
    port: config.metrics.port,
    registry: metrics.registry,
    readiness: [redisCheck(connection)],
    dependencyUp: metrics.dependencyUp,
  });
  logger.info('express worker ready', { metrics: server.url, consumer: running.worker.consumerName });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('draining before exit', { signal });
    void running
      .stop()
      .then(() => server.close())
      .then(() => connection.quit())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error('shutdown failed', { error: err });
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`express worker failed to start: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}

/**
 * An express-lane worker serving the built-in and agent task types, in process (`sagalane dev`, tests). As a process
 * with /metrics, /healthz and /readyz that drains on SIGTERM/SIGINT: `npx sagalane worker express`.
 */
import type Redis from 'ioredis';
import { agentDepsFromConfig } from '../activities/agents';
import type { Config } from '../config';
import { createLogger, type Logger } from '../logger';
import { builtinTaskTypes } from '../lane/builtin-task-types';
import { createAgentTaskTypes } from '../lane/agent-task-types';
import { ExpressWorker, type ExpressWorkerOptions } from '../lane/express-worker';
import { defaultPoolThreads, HandlerPools } from '../lane/handler-pool';
import { createPooledCpuTaskRunner } from '../lane/pooled-cpu-tasks';
import { openLaneConnection } from '../lane/redis-connections';
import type { TaskType } from '../lane/task-types';
import { instrumentExpressWorker, type SagalaneMetrics } from '../observability';

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
  // One set of thread pools for pooled handlers (hash) and the agents' CPU parts (sandbox, search, backtest).
  const pools = rest.pools ?? new HandlerPools({ threads: rest.poolThreads ?? defaultPoolThreads() });
  const served = types ?? [
    ...builtinTaskTypes,
    ...createAgentTaskTypes({
      ...agentDepsFromConfig(config, connection, logger),
      runCpuTask: createPooledCpuTaskRunner(pools),
    }),
  ];
  const worker = new ExpressWorker({
    ...rest,
    pools,
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
      if (!rest.pools) await pools.close();
      detach?.();
      if (ownConnection) await connection.quit().catch(() => connection.disconnect());
    },
  };
}

/**
 * An express-lane worker serving the built-in and agent task types, in process (`sagalane dev`, tests). As a process
 * with /metrics, /healthz and /readyz that drains on SIGTERM/SIGINT: `npx sagalane worker express`.
 */
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { agentDepsFromConfig, createAgents } from '../activities/agents';
import { createPipelineStepTypes } from '../activities/pipeline-step-types';
import { connectionSettings } from './temporal-connection';
import type { Config } from '../config';
import { createLogger, type Logger } from '../logger';
import { builtinTaskTypes } from '../lane/builtin-task-types';
import { createAgentTaskTypes } from '../activities/agent-task-types';
import { ExpressWorker, type ExpressWorkerOptions } from '../lane/express-worker';
import { defaultPoolThreads, HandlerPools } from '../lane/handler-pool';
import { createPooledCpuTaskRunner } from '../activities/pooled-cpu-tasks';
import { openLaneConnection, type RedisClient } from '../lane/redis-connections';
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
  /**
   * Temporal frontend for lane-dispatched saga steps: with an address (and `config.stepDispatch` `lane`) the worker
   * also serves the pipeline's step types (`step.reasoning`, …) and completes their activities there.
   * @defaultValue `config.temporal.address`; none: no step types
   */
  temporalAddress?: string;
}

export interface RunningExpressWorker {
  worker: ExpressWorker;
  /** Graceful: stops reading, drains in-flight tasks (up to `drainTimeoutMs`), closes connections. */
  stop(): Promise<void>;
}

export async function startExpressWorker(options: StartExpressWorkerOptions): Promise<RunningExpressWorker> {
  const { config, types, metrics, temporalAddress, ...rest } = options;
  const logger: Logger = rest.logger ?? createLogger(config.logLevel);
  const ownConnection = !rest.connection;
  const connection: RedisClient = rest.connection ?? openLaneConnection(config.redisUrl, 'worker-commands');
  const stepAddress = temporalAddress ?? config.temporal.address;
  // Saga steps on the lane need Temporal to complete their activities; a lane-only worker does without. Completions
  // go through a NativeConnection (the SDK's Rust client, as workers use): measured against a grpc-js Connection in
  // bench/lib/saga-lane-subject.ts, a step's completion reaches the history sooner and costs the process less CPU.
  const temporal =
    !types && config.stepDispatch === 'lane' && stepAddress
      ? await NativeConnection.connect(connectionSettings(config.temporal, stepAddress))
      : undefined;
  // One set of thread pools for pooled handlers (hash) and the agents' CPU parts (sandbox, search, backtest).
  const pools = rest.pools ?? new HandlerPools({ threads: rest.poolThreads ?? defaultPoolThreads() });
  const deps = {
    ...agentDepsFromConfig(config, connection, logger),
    runCpuTask: createPooledCpuTaskRunner(pools),
  };
  const served = types ?? [
    ...builtinTaskTypes,
    ...createAgentTaskTypes(deps),
    ...(temporal
      ? createPipelineStepTypes(createAgents(deps), {
          completion: new Client({ connection: temporal, namespace: config.temporal.namespace }).activity,
          logger,
          // Only reruns and late starts heartbeat before their handler (the lane says which runs are redeliveries);
          // the ledger answers for contexts that do not say, and holds awaited steps' over-marks (a lane worker
          // without it refuses awaited steps).
          runLedger: { redis: connection, keyPrefix: config.keyPrefix },
        })
      : []),
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
      await temporal?.close();
      if (ownConnection) await connection.quit().catch(() => connection.disconnect());
    },
  };
}

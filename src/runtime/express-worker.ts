/**
 * An express-lane worker serving the built-in and agent task types, in process (`sagalane dev`, tests). As a process
 * with /metrics, /healthz and /readyz that drains on SIGTERM/SIGINT: `npx sagalane worker express`.
 */
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { agentDepsFromConfig, createAgents } from '../activities/research/agents';
import { pipelineStepHandlers } from '../activities/research/pipeline-step-types';
import type { SagaCatalog } from '../catalog/catalog';
import { catalogStepTypes } from '../catalog/step-types';
import type { StepHandler } from '../dispatch/activity-completion';
import { BUILTIN_SAGA_CATALOG } from '../workflows/research/research-pipeline-saga';
import { RESEARCH_PIPELINE_WORKFLOW } from '../workflows/research/pipeline-definitions';
import { connectionSettings } from './temporal-connection';
import type { Config } from '../config';
import { createLogger, type Logger } from '../logger';
import { flushTracing, startTracing } from '../observability/tracing';
import { builtinTaskTypes } from '../lane/builtin-task-types';
import { createAgentTaskTypes } from '../activities/research/agent-task-types';
import { ExpressWorker, type ExpressWorkerOptions } from '../lane/express-worker';
import { defaultPoolThreads, HandlerPools } from '../lane/handler-pool';
import { createPooledCpuTaskRunner } from '../activities/research/pooled-cpu-tasks';
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
  /**
   * The sagas whose steps this worker runs (with a Temporal address): one `step.<activity>` type per step and
   * compensation. @defaultValue the built-in catalog (the research pipeline)
   */
  catalog?: SagaCatalog;
  /**
   * The handler of each catalog step and compensation that is not the research pipeline's (sagalane brings those). A
   * step without a handler, or a handler for no step, stops the worker at start-up.
   * @defaultValue none
   */
  stepHandlers?: Readonly<Record<string, StepHandler<never>>>;
  /** Metrics to record the worker's events in. @defaultValue none */
  metrics?: SagalaneMetrics;
  /**
   * Temporal frontend for lane-dispatched saga steps: with an address (and `config.stepDispatch` `lane`) the worker
   * also serves the catalog's step types (`step.reasoning`, …) and completes their activities there.
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
  const { config, types, metrics, temporalAddress, catalog, stepHandlers, ...rest } = options;
  const sagas = catalog ?? BUILTIN_SAGA_CATALOG;
  const logger: Logger = rest.logger ?? createLogger(config.logLevel);
  // On when the OTEL_* variables ask for it: each task then continues the trace its stream entry carries.
  startTracing({ serviceName: 'sagalane-express-worker' });
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
  let served: TaskType[];
  try {
    served = types ?? [
      ...builtinTaskTypes,
      ...createAgentTaskTypes(deps),
      ...(temporal
        ? catalogStepTypes(
            sagas,
            {
              ...(sagas.has(RESEARCH_PIPELINE_WORKFLOW) ? pipelineStepHandlers(createAgents(deps)) : {}),
              ...stepHandlers,
            },
            {
              completion: new Client({ connection: temporal, namespace: config.temporal.namespace }).activity,
              logger,
              // Only reruns and late starts heartbeat before their handler (the lane says which runs are redeliveries);
              // the ledger answers for contexts that do not say, and holds awaited steps' over-marks (a lane worker
              // without it refuses awaited steps).
              runLedger: { redis: connection, keyPrefix: config.keyPrefix },
            },
          )
        : []),
    ];
  } catch (err) {
    // A catalog step without a handler (or a stray handler): nothing may stay open behind the start-up error.
    await temporal?.close();
    if (!rest.pools) await pools.close();
    if (ownConnection) connection.disconnect();
    throw err;
  }
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
      // The last tasks' spans are still in the batch: export them before the process may exit.
      await flushTracing();
    },
  };
}

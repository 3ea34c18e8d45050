/**
 * The saga worker: runs the sagalane workflows and the pipeline agents on the saga task queue.
 *
 * In process (`sagalane dev`, tests): `const { stop } = await startSagaWorker({ config })`. As a process:
 * `npx sagalane worker saga` (src/cli/worker.ts); SIGTERM/SIGINT stop polling, let running activities finish within
 * the shutdown grace time and exit 0.
 */
import fs from 'node:fs';
import { openRedis } from '../lane/redis-connections';
import { NativeConnection, Worker, type InjectedSinks, type WorkerOptions } from '@temporalio/worker';
import type { PipelineActivities } from '../activities/research/contracts';
import { createActivities } from '../activities/research';
import { openLaneDispatch } from '../activities/research/lane-dispatch-wiring';
import { withPipelineLocalActivities } from '../activities/research/local-steps';
import type { ExpressClient } from '../lane/express-client';
import type { Config } from '../config';
import type { SagaCatalog } from '../catalog/catalog';
import { BUILTIN_SAGA_CATALOG } from '../workflows/research/research-pipeline-saga';
import { createLogger, type Logger } from '../logger';
import { SAGA_METRICS_SINK, type SagaSinks } from '../workflows/saga-sinks';
import { STEP_ATTEMPT_WORKFLOW_MODULE, stepAttemptActivityInterceptor } from './step-attempt-interceptor';
import { flushTracing, startTracing } from '../observability/tracing';
import { sagaWorkerTracing, workflowSpansDropped } from './temporal-tracing';
import { connectionSettings } from './temporal-connection';

export interface SagaWorkerOptions {
  config: Config;
  /**
   * The sagas to run: the worker bundles the catalog's `workflowsPath` and, with lane dispatch, registers a dispatch
   * activity for every step and compensation the catalog declares.
   * @defaultValue the built-in catalog (the research pipeline)
   */
  catalog?: SagaCatalog;
  /** Temporal frontend `host:port`. @defaultValue `config.temporal.address` */
  address?: string;
  /** An existing connection to reuse (its owner closes it). @defaultValue a new connection to `address` */
  connection?: NativeConnection;
  /** @defaultValue `config.temporal.taskQueue` */
  taskQueue?: string;
  /**
   * The activities, as given (a user's saga may mix in-worker activities with `createLaneDispatchActivities`).
   * @defaultValue the catalog's steps per `stepDispatch`: lane dispatch activities, or (`inline`) the pipeline's
   * agents for the built-in catalog; another catalog run inline needs its activities here
   */
  activities?: PipelineActivities | Record<string, (...args: never[]) => Promise<unknown>>;
  /**
   * Without `activities`: `lane` registers thin dispatch activities that hand each step to a lane worker
   * (`step.<activity>` lane tasks, completed there through async completion); `inline` runs the real agents here.
   * @defaultValue `config.stepDispatch` (`SAGALANE_STEP_DISPATCH`, default `lane`)
   */
  stepDispatch?: 'lane' | 'inline';
  /** Lane dispatch: the client that submits step tasks. @defaultValue a client on `config.redisUrl` */
  express?: ExpressClient;
  /** Saga lifecycle sinks, e.g. `createSagaMetricsSinks(metrics)`. @defaultValue debug log lines */
  sinks?: InjectedSinks<SagaSinks>;
  /**
   * A prebuilt bundle of sagalane's workflows (`npm run bundle:workflows`, src/runtime/workflow-bundle.ts) to load
   * instead of bundling src/workflows at start-up (which takes seconds). It must include the step-attempt workflow
   * interceptor. Not with `workerOptions.workflowsPath` / `workflowBundle` (your own workflows).
   * @defaultValue `config.workflowBundlePath` (SAGALANE_WORKFLOW_BUNDLE) unless `workerOptions` names your own
   * workflows, else bundle src/workflows
   */
  workflowBundlePath?: string;
  /** @defaultValue a logger at `config.logLevel` */
  logger?: Logger;
  /**
   * Further `Worker.create` options (concurrency limits, identity, heartbeat throttling, …). `shutdownGraceTime`
   * defaults to `config.shutdownGraceMs` (SAGALANE_SHUTDOWN_GRACE_MS, 30 s): how long running activities may finish
   * after `stop()` before they are cancelled (the SDK's own default, 0, cancels them at once).
   *
   * Your own sagas: `workflowsPath` (a module exporting your workflows) replaces sagalane's workflows (the research
   * pipeline then runs on a worker of its own), and the step-attempt workflow interceptor (`steps[].attempts`) is bundled with it (and, while tracing, Temporal's tracing interceptor). A
   * prebuilt `workflowBundle` must list `STEP_ATTEMPT_WORKFLOW_MODULE` in its `workflowInterceptorModules` itself.
   */
  workerOptions?: Partial<Omit<WorkerOptions, 'connection' | 'taskQueue' | 'activities' | 'sinks'>>;
}

export interface SagaWorkerHandle {
  worker: Worker;
  /** Settles when the worker stopped (after `stop()`, or with the error that ended it). */
  running: Promise<void>;
  /** Stops polling, waits for running tasks, closes the connection it opened. Safe to call twice. */
  stop(): Promise<void>;
}

export class SagaWorkerSetupError extends Error {
  override readonly name = 'SagaWorkerSetupError';
}

/** Logs each saga lifecycle event (transitions at debug, ends at info); never during replay. */
export function createLogSagaSinks(logger: Logger): InjectedSinks<SagaSinks> {
  const at =
    (level: 'debug' | 'info' | 'warn', msg: string) =>
    (info: { workflowId: string; runId: string }, event: object) =>
      logger[level](msg, { sagaId: info.workflowId, runId: info.runId, ...event });
  return {
    [SAGA_METRICS_SINK]: {
      sagaStarted: { fn: at('debug', 'saga started'), callDuringReplay: false },
      stateTransition: { fn: at('debug', 'saga state transition'), callDuringReplay: false },
      stepFinished: { fn: at('debug', 'saga step finished'), callDuringReplay: false },
      compensationFinished: { fn: at('debug', 'saga compensation finished'), callDuringReplay: false },
      sagaEnded: { fn: at('info', 'saga ended'), callDuringReplay: false },
    },
  };
}

export async function startSagaWorker(opts: SagaWorkerOptions): Promise<SagaWorkerHandle> {
  const { config } = opts;
  const catalog = opts.catalog ?? BUILTIN_SAGA_CATALOG;
  // A catalog of the user's names its workflows module; the built-in one is sagalane's own (or its prebuilt bundle).
  const catalogWorkflows = catalog === BUILTIN_SAGA_CATALOG ? undefined : catalog.workflowsPath;
  if (catalog !== BUILTIN_SAGA_CATALOG && !catalogWorkflows && !opts.workerOptions?.workflowsPath) {
    if (!opts.workerOptions?.workflowBundle)
      throw new SagaWorkerSetupError(
        `the saga catalog (${catalog.types.join(', ')}) names no workflowsPath: pass sagaCatalog(sagas, ` +
          "{ workflowsPath: require.resolve('./workflows') }), the module exporting each saga's workflow",
      );
  }
  const ownWorkflows =
    catalogWorkflows !== undefined ||
    opts.workerOptions?.workflowsPath !== undefined ||
    opts.workerOptions?.workflowBundle !== undefined;
  if (ownWorkflows && opts.workflowBundlePath) {
    throw new SagaWorkerSetupError(
      "workflowBundlePath (a bundle of sagalane's workflows) and workerOptions.workflowsPath / workflowBundle (your " +
        'own) both name the workflows to run: pass one of them',
    );
  }
  // Workflows the caller named win over SAGALANE_WORKFLOW_BUNDLE, which bundles sagalane's own.
  const workflowBundlePath = ownWorkflows
    ? undefined
    : (opts.workflowBundlePath ?? config.workflowBundlePath);
  const prebuiltBundle = workflowBundlePath !== undefined || opts.workerOptions?.workflowBundle !== undefined;
  if (workflowBundlePath && !fs.existsSync(workflowBundlePath)) {
    throw new SagaWorkerSetupError(
      `the workflow bundle ${workflowBundlePath} does not exist` +
        (opts.workflowBundlePath ? '' : ' (SAGALANE_WORKFLOW_BUNDLE)') +
        ': build it with `npm run bundle:workflows -- <path>`, or unset SAGALANE_WORKFLOW_BUNDLE to bundle at start-up',
    );
  }
  const logger = opts.logger ?? createLogger(config.logLevel, { component: 'saga-worker' });
  // On when the OTEL_* variables ask for it (or the process started tracing itself); off, `tracing` is undefined.
  startTracing({ serviceName: 'sagalane-saga-worker' });
  const tracing = sagaWorkerTracing(catalog.stepActivities);
  const taskQueue = opts.taskQueue ?? config.temporal.taskQueue;
  const stepDispatch = opts.stepDispatch ?? config.stepDispatch;
  if (!opts.activities && stepDispatch === 'inline' && catalog !== BUILTIN_SAGA_CATALOG) {
    throw new SagaWorkerSetupError(
      `SAGALANE_STEP_DISPATCH=inline runs the steps in the saga worker: pass the activities of ${catalog.types.join(', ')} ` +
        '(the `activities` option, or export `activities` from the SAGALANE_SAGAS module), or dispatch them on the lane',
    );
  }
  const agents = opts.activities
    ? { activities: opts.activities, close: async () => undefined }
    : stepDispatch === 'lane'
      ? openLaneDispatch(config, opts.express, logger, catalog.dispatchSteps())
      : realActivities(config, logger);
  // The research pipeline's local activities must be registered on every worker that may run it (why: ./local-steps).
  const activities = withPipelineLocalActivities(agents.activities);
  const ownConnection = opts.connection === undefined;
  let connection = opts.connection;
  if (!connection) {
    const address = opts.address ?? config.temporal.address;
    if (!address) {
      throw new SagaWorkerSetupError(
        'no Temporal address: set TEMPORAL_ADDRESS (or pass --address / the address option)',
      );
    }
    try {
      connection = await NativeConnection.connect(connectionSettings(config.temporal, address));
    } catch (err) {
      await agents.close();
      throw err;
    }
  }
  let worker: Worker;
  try {
    worker = await Worker.create({
      shutdownGraceTime: config.shutdownGraceMs,
      // Bounded workflow cache (docs/SAGAS.md "Memory"): above the 100 sagas in flight of bench:saga, far below the
      // SDK's heap-derived default (~900 here); `workerOptions.maxCachedWorkflows` overrides it.
      maxCachedWorkflows: 250,
      ...opts.workerOptions,
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      activities,
      // With tracing, the workflow's spans leave the sandbox through a sink too. A prebuilt bundle always holds
      // Temporal's tracing interceptor (src/runtime/workflow-bundle.ts): without tracing its spans are dropped here.
      sinks: {
        ...(opts.sinks ?? createLogSagaSinks(logger)),
        ...(tracing?.sinks ?? (prebuiltBundle ? workflowSpansDropped() : {})),
      },
      // `steps[].attempts` of the saga state (src/workflows/step-attempts.ts); a prebuilt bundle lists the workflow
      // modules in `workflowInterceptorModules` itself. Temporal's tracing interceptors come first, so the span of a
      // step is open around everything else that runs for it.
      interceptors: {
        ...opts.workerOptions?.interceptors,
        activity: [
          ...(tracing?.activityInterceptors ?? []),
          stepAttemptActivityInterceptor,
          ...(opts.workerOptions?.interceptors?.activity ?? []),
        ],
        ...(prebuiltBundle
          ? {}
          : {
              workflowModules: [
                ...(tracing?.workflowModules ?? []),
                STEP_ATTEMPT_WORKFLOW_MODULE,
                ...(opts.workerOptions?.interceptors?.workflowModules ?? []),
              ],
            }),
      },
      // The caller's own workflowsPath / workflowBundle came in with `workerOptions` above.
      ...(ownWorkflows
        ? catalogWorkflows !== undefined && opts.workerOptions?.workflowsPath === undefined
          ? { workflowsPath: catalogWorkflows }
          : {}
        : workflowBundlePath
          ? { workflowBundle: { codePath: workflowBundlePath } }
          : { workflowsPath: require.resolve('../workflows') }),
    });
  } catch (err) {
    if (ownConnection) await connection.close();
    await agents.close();
    throw err;
  }
  logger.info('saga worker started', {
    taskQueue,
    sagas: catalog.types,
    namespace: config.temporal.namespace,
    stepDispatch: opts.activities ? 'custom' : stepDispatch,
  });
  const running = worker.run().finally(async () => {
    if (ownConnection) await connection.close();
    await agents.close();
    logger.info('saga worker stopped', { taskQueue });
  });
  let stopping: Promise<void> | undefined;
  return {
    worker,
    running,
    stop() {
      stopping ??= (async () => {
        const state = worker.getState();
        // The SDK's Runtime may have begun the shutdown itself (it handles SIGTERM/SIGINT too): STOPPING, DRAINING.
        if (state !== 'STOPPED' && state !== 'FAILED') {
          logger.info(
            'saga worker stopping: no new tasks; running activities may finish within the grace time',
            {
              shutdownGraceTime: opts.workerOptions?.shutdownGraceTime ?? `${config.shutdownGraceMs}ms`,
            },
          );
        }
        if (state === 'RUNNING') worker.shutdown();
        await running;
        // The last steps' spans are still in the batch: export them before the process may exit.
        await flushTracing();
      })();
      return stopping;
    },
  };
}

/** The real agents on a Redis connection of their own, closed when the worker stops (nothing left open in process). */
function realActivities(
  config: Config,
  logger: Logger,
): { activities: PipelineActivities; close(): Promise<void> } {
  const redis = openRedis(config.redisUrl, { maxRetriesPerRequest: 3 });
  return {
    activities: createActivities({ config, logger, redis }),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/**
 * Runs the worker until SIGTERM or SIGINT, then stops it gracefully: no new tasks are polled and running ones get
 * the worker's shutdown grace time to finish. A second signal does not interrupt the drain.
 */
export async function runUntilSignalled(handle: SagaWorkerHandle, logger: Logger): Promise<void> {
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info('shutting down', { signal });
    void handle.stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    await handle.running;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

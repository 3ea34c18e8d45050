/**
 * Starts a Temporal dev server (the Temporal CLI's `server start-dev`) through `@temporalio/testing`, with the
 * saga search attributes registered. Used by `sagalane dev` (persistent SQLite state, Web UI on) and by the test
 * suite (in-memory, no UI).
 */
import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SAGA_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { childPids, terminateWhenParentDies } from './parent-bound-spawn';
import { ensureTemporalCli, type FindOptions } from './temporal-cli';

export interface DevServerOptions extends FindOptions {
  /** gRPC port; omit for a random free port. */
  port?: number;
  /** Web UI port; omit for no UI. */
  uiPort?: number;
  /** SQLite file for durable state; omit for in-memory. */
  dbFilename?: string;
  namespace?: string;
  /** Dev server log level. @defaultValue 'warn' */
  logLevel?: string;
}

export interface DevServer {
  env: TestWorkflowEnvironment;
  /** `host:port` of the gRPC frontend. */
  address: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

/**
 * The dynamic config every dev server sagalane starts runs with (`sagalane dev`, the test suite, the benchmarks);
 * `deploy/temporal/dynamicconfig.yaml` sets the same for the compose cluster. Measured in docs/BENCHMARKS.md.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: readonly string[] = [
  // Eager activity execution: the worker completing a workflow task gets the activity it scheduled in the same
  // reply instead of through another matching dispatch; this about halves a saga's latency here. On by default in
  // Temporal Cloud; set it on self-hosted clusters too.
  'system.enableActivityEagerExecution=true',
  // Eager workflow start: a client on the worker's own NativeConnection (`requestEagerStart`) gets the first workflow
  // task handed to that worker in the start reply, skipping its matching dispatch (src/client/saga-client.ts).
  'system.enableEagerWorkflowStart=true',
  // History's task queues are read at most 20 times a second per shard by default and a dev server has few shards,
  // so every workflow and activity task dispatch waited ~40 ms (a saga has nine). Measured: p50 450 → 161 ms on their
  // own; visibility (SagaState lists) catches up sooner too.
  ...['transfer', 'timer', 'visibility'].map((queue) => `history.${queue}ProcessorMaxPollRPS=10000`),
  // Task-queue priority: Server 1.29 orders a backlog by `priorityKey` only with the priority-enabled matcher, off by
  // default (go.temporal.io/server common/dynamicconfig `matching.useNewMatcher`); without it an express saga's
  // `priorityKey` 1 (SagaClient) is recorded but its workflow tasks queue behind a bulk flood's. Fairness keys need
  // `matching.enableFairness` as well; sagalane sets none.
  'matching.useNewMatcher=true',
];

/**
 * SQLite pragmas of a dev server with a database file (`dbFilename`: the `sagalane dev` stack). The CLI opens the
 * file with SQLite's defaults, a rollback journal and `synchronous=FULL`: every transaction creates, syncs and deletes
 * a journal file and syncs the database, several fsyncs for each of the ~30 writes a saga makes. A write-ahead log
 * with `synchronous=NORMAL` appends to one file and syncs at checkpoints; it survives a crash of the server or of
 * `sagalane dev` (kill -9 included) and can lose only the last transactions on a power loss or an OS crash, which a
 * local dev stack can afford. Measured in docs/BENCHMARKS.md.
 */
export const DEV_SERVER_FILE_PRAGMAS: readonly string[] = ['journal_mode=wal', 'synchronous=normal'];

export async function startTemporalDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const executable = await ensureTemporalCli(opts);
  if (opts.dbFilename) fs.mkdirSync(path.dirname(opts.dbFilename), { recursive: true });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable,
      ip: '127.0.0.1',
      port: opts.port,
      ui: opts.uiPort !== undefined,
      uiPort: opts.uiPort,
      dbFilename: opts.dbFilename,
      namespace: opts.namespace,
      searchAttributes: SAGA_SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: opts.logLevel ?? 'warn' },
      extraArgs: [
        ...DEV_SERVER_DYNAMIC_CONFIG.flatMap((value) => ['--dynamic-config-value', value]),
        ...(opts.dbFilename ? DEV_SERVER_FILE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]) : []),
        // The UI would otherwise listen on all interfaces.
        ...(opts.uiPort !== undefined ? ['--ui-ip', '127.0.0.1'] : []),
      ],
    },
  });
  // @temporalio/testing starts the CLI as our child but does not stop it if we are killed (kill -9, a test runner's
  // timeout): watch for that so a dead `sagalane dev` or test run does not leave a server holding its port.
  const port = env.address.split(':').pop();
  const stopWatchers = childPids(
    (argv) => argv[1] === 'server' && argv.includes('start-dev') && argv[argv.indexOf('--port') + 1] === port,
  ).map(terminateWhenParentDies);
  return {
    env,
    address: env.address,
    uiUrl: opts.uiPort !== undefined ? `http://127.0.0.1:${opts.uiPort}` : undefined,
    stop: async () => {
      stopWatchers.forEach((stopWatcher) => stopWatcher());
      await env.teardown();
    },
  };
}

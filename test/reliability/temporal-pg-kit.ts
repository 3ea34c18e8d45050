/**
 * The Temporal-on-PostgreSQL fault tests' rig: a Temporal server of the test's own on PostgreSQL (databases
 * sagalane_temporal_reliability*), one in-process saga worker, and the 20-sagas-in-flight scenario
 * (sagas-in-flight.ts) to run while the test breaks something.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import {
  startTemporalOnPostgres,
  startTemporalPostgresServer,
  type TemporalPostgresOptions,
  type TemporalPostgresServer,
} from '../../src/dev/temporal-postgres';
import { createLogger } from '../../src/logger';
import { startSagaWorker, type SagaWorkerHandle } from '../../src/runtime/saga-worker';
import { createTestPipelineActivities, scenarioBySymbol } from '../fixtures/test-activities';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';
import { uniqueTaskQueue, workflowBundlePath } from '../helpers/temporal';
import { freeTemporalPort } from '../helpers/temporal-postgres';
import { withDeadline } from './reliability-kit';
import {
  releaseAndCollect,
  startSagasInFlight,
  type InFlightContext,
  type InFlightSaga,
  type SagaOutcome,
} from './sagas-in-flight';

export const RELIABILITY_POSTGRES_URL =
  process.env.SAGALANE_TEST_POSTGRES_RELIABILITY_URL ??
  'postgres://postgres@127.0.0.1:5432/sagalane_temporal_reliability';

/**
 * `url` with its database name suffixed by the rig's own part of `name` (`rel-temporal-pg-server` → `_server`);
 * short, because the visibility database appends `_visibility` and PostgreSQL names stop at 63 characters.
 */
function databaseFor(url: string, name: string): string {
  const u = new URL(url);
  const suffix = name.replace(/^rel-temporal-pg-/, '').replace(/[^A-Za-z0-9]+/g, '_');
  u.pathname = `${u.pathname.replace(/^\//, '')}_${suffix}`;
  return u.toString();
}

export interface PostgresSagaRig {
  server(): TemporalPostgresServer;
  /** Stops the Temporal server (SIGTERM, waits for it to exit). */
  stopServer(): Promise<void>;
  /** Starts it again with the same ports, state directory and databases. */
  startServer(): Promise<void>;
  /** Starts the 20 sagas and waits until all are inside their held step. */
  startSagasInFlight(label: string): Promise<void>;
  /** Lets the held steps finish and waits for every saga's end. */
  releaseAndCollect(): Promise<SagaOutcome[]>;
  close(): Promise<void>;
}

export async function postgresSagaRig(name: string): Promise<PostgresSagaRig> {
  try {
    // An outage makes the SDK log every failed poll; only errors matter here.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // A runtime was installed already in this process.
  }
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `sagalane-${name}-`));
  const keyPrefix = uniquePrefix(name);
  const taskQueue = uniqueTaskQueue(name);
  const serverOptions: TemporalPostgresOptions = {
    // Each fault test gets databases of its own: a server the previous test killed stays in the cluster
    // membership table for a while and would keep owning the shards of a shared database.
    postgresUrl: databaseFor(RELIABILITY_POSTGRES_URL, name),
    stateDir,
    port: await freeTemporalPort(),
    logLevel: 'error',
    log: (l: string) => process.stderr.write(l + '\n'),
  };
  let server: TemporalPostgresServer | undefined = await startTemporalOnPostgres(serverOptions);
  const redis = redisClient();
  const native = await NativeConnection.connect({ address: server.address });
  const { activities } = createTestPipelineActivities({ redis, keyPrefix, scenarioFor: scenarioBySymbol });
  const worker: SagaWorkerHandle = await startSagaWorker({
    config: loadConfig({}),
    connection: native,
    taskQueue,
    activities,
    workflowBundlePath: workflowBundlePath(),
    logger: createLogger('error'),
    workerOptions: { maxHeartbeatThrottleInterval: '200ms', shutdownGraceTime: '2s' },
  });
  const connection = await Connection.connect({ address: server.address });
  const ctx: InFlightContext = { client: new Client({ connection }), taskQueue, redis, keyPrefix };
  let sagas: InFlightSaga[] = [];

  return {
    server: () => {
      if (!server) throw new Error('the Temporal server is stopped');
      return server;
    },
    async stopServer() {
      await server?.stop();
      server = undefined;
    },
    async startServer() {
      server = await startTemporalPostgresServer(serverOptions);
    },
    async startSagasInFlight(label) {
      sagas = await startSagasInFlight(ctx, label);
    },
    releaseAndCollect: () => releaseAndCollect(ctx, sagas),
    async close() {
      await withDeadline(worker.stop(), 20_000).catch(() => undefined);
      await native.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await server?.stop();
      await deleteKeys(redis, keyPrefix);
      redis.disconnect();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

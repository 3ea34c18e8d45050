/**
 * The Temporal server restarts with sagas in flight: a dev server of the test's own (fixed port, SQLite file) is
 * stopped while 20 sagas are inside their ml or backtest step, and started again on the same port and file. The
 * worker and client reconnect by themselves. Invariant: every saga ends as it should (completed, or rolled_back
 * for those that fail in backtest) and no step that had finished before the restart runs again
 * (sagas-in-flight.ts; temporal-pg-server-restart.test.ts is the same on PostgreSQL).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { startTemporalDevServer, type DevServer } from '../../src/dev/temporal-server';
import { createLogger } from '../../src/logger';
import { startSagaWorker, type SagaWorkerHandle } from '../../src/runtime/saga-worker';
import { createTestPipelineActivities, scenarioBySymbol } from '../fixtures/test-activities';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';
import { uniqueTaskQueue, workflowBundlePath } from '../helpers/temporal';
import { figure, freePort, portAnswers, withDeadline } from './reliability-kit';
import {
  expectEverySagaCorrect,
  outcomeFigures,
  releaseAndCollect,
  startSagasInFlight,
} from './sagas-in-flight';

describe('Temporal dev server (SQLite file) restarted with sagas in flight', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-reliability-temporal-'));
  const dbFilename = path.join(dir, 'temporal.db');
  const keyPrefix = uniquePrefix('rel-temporal-restart');
  const taskQueue = uniqueTaskQueue('rel-temporal-restart');
  let port: number;
  let server: DevServer | undefined;
  let redis: Redis;
  let native: NativeConnection;
  let connection: Connection;
  let worker: SagaWorkerHandle;

  beforeAll(async () => {
    try {
      // The outage makes the SDK log every failed poll; only errors matter here.
      Runtime.install({ logger: new DefaultLogger('ERROR') });
    } catch {
      // A runtime was installed already in this process.
    }
    port = await freePort();
    server = await startTemporalDevServer({ port, dbFilename, logLevel: 'error' });
    redis = redisClient();
    native = await NativeConnection.connect({ address: server.address });
    const { activities } = createTestPipelineActivities({ redis, keyPrefix, scenarioFor: scenarioBySymbol });
    worker = await startSagaWorker({
      config: loadConfig({}),
      connection: native,
      taskQueue,
      activities,
      workflowBundlePath: workflowBundlePath(),
      logger: createLogger('error'),
      workerOptions: { maxHeartbeatThrottleInterval: '200ms', shutdownGraceTime: '2s' },
    });
    connection = await Connection.connect({ address: server.address });
  });
  afterAll(async () => {
    if (worker) await withDeadline(worker.stop(), 20_000).catch(() => undefined);
    await native?.close().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await server?.stop();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ends every saga correctly after the restart', async () => {
    const started = Date.now();
    const ctx = { client: new Client({ connection }), taskQueue, redis, keyPrefix };
    const sagas = await startSagasInFlight(ctx, 'survive a server restart');

    const downAt = Date.now();
    await server!.stop();
    server = undefined;
    expect(await portAnswers(port)).toBe(false);
    // Down long enough for the worker's polls and the blocked steps' heartbeats to fail.
    await sleep(3_000);
    server = await startTemporalDevServer({ port, dbFilename, logLevel: 'error' });
    const downSeconds = (Date.now() - downAt) / 1000;

    const outcomes = await releaseAndCollect(ctx, sagas);
    figure('temporal restart (sqlite)', {
      ...outcomeFigures(outcomes),
      server_down_s: downSeconds.toFixed(1),
      seconds: ((Date.now() - started) / 1000).toFixed(1),
    });
    expectEverySagaCorrect(outcomes);
  });
});

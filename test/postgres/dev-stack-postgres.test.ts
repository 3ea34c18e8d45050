/**
 * `sagalane dev --persistence postgres`: the local stack starts a Temporal server on PostgreSQL (databases
 * sagalane_temporal_devstack*, apart from the run's own server) with its UI, prints where it runs, and stops it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../../src/config';
import { runDevStack } from '../../src/dev/local-stack';
import { freePort, portAnswers } from '../helpers/ports';
import { freeTemporalPort } from '../helpers/temporal-postgres';

describe('sagalane dev --persistence postgres', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-dev-pg-'));
  const previousUrl = process.env.SAGALANE_POSTGRES_URL;
  afterAll(() => {
    if (previousUrl === undefined) delete process.env.SAGALANE_POSTGRES_URL;
    else process.env.SAGALANE_POSTGRES_URL = previousUrl;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs Temporal on PostgreSQL with the UI, says so, and stops it', async () => {
    process.env.SAGALANE_POSTGRES_URL = (
      process.env.SAGALANE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/sagalane_temporal_test'
    ).replace(/\/[^/]*$/, '/sagalane_temporal_devstack');
    const [port, uiPort] = [await freeTemporalPort(), await freePort()];
    const config = loadConfig({
      SAGALANE_DATA_DIR: dataDir,
      SAGALANE_TEMPORAL_PORT: String(port),
      SAGALANE_TEMPORAL_UI_PORT: String(uiPort),
      REDIS_URL: process.env.REDIS_URL,
      SAGALANE_TEMPORAL_METRICS_PORT: 'off',
    });
    const lines: string[] = [];
    let stop!: () => void;
    const until = new Promise<void>((resolve) => (stop = resolve));
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const running = runDevStack(config, {
      components: [],
      persistence: 'postgres',
      until,
      log: (l) => {
        lines.push(l);
        if (l.startsWith('Press Ctrl-C')) ready();
      },
    });
    await Promise.race([isReady, running]);

    const endpoints = lines.join('\n');
    expect(endpoints).toMatch(
      new RegExp(`Temporal gRPC +127\\.0\\.0\\.1:${port} \\(PostgreSQL sagalane_temporal_devstack on `),
    );
    expect(endpoints).toContain(`Temporal UI    http://127.0.0.1:${uiPort}`);
    const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    try {
      expect((await connection.workflowService.getClusterInfo({})).persistenceStore).toBe('postgres12');
    } finally {
      await connection.close();
    }
    expect((await fetch(`http://127.0.0.1:${uiPort}/`)).status).toBe(200);

    stop();
    await running;
    expect(lines).toContain('[sagalane]   stopped temporal server (postgresql)');
    expect(await portAnswers(port)).toBe(false);
    expect(await portAnswers(uiPort)).toBe(false);
  });
});

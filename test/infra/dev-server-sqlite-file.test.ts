/**
 * The file-backed dev server (`sagalane dev`'s `.sagalane/temporal.db`) runs SQLite with a write-ahead log
 * (DEV_SERVER_FILE_PRAGMAS: journal_mode=wal, synchronous=normal, far fewer fsyncs than SQLite's defaults), and
 * what it has accepted survives a kill -9 of the server: a workflow started before the kill is there after a restart
 * on the same file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { childPids } from '../../src/dev/parent-bound-spawn';
import { startTemporalDevServer, type DevServer } from '../../src/dev/temporal-server';
import { freePort } from '../lane/lane-helpers';

jest.setTimeout(120_000);

(process.platform === 'linux' ? describe : describe.skip)('dev server on a SQLite file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-dev-sqlite-'));
  const dbFilename = path.join(dir, 'temporal.db');
  let server: DevServer | undefined;

  afterAll(async () => {
    await server?.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes a WAL, and a workflow it accepted survives a kill -9 of the server', async () => {
    const port = await freePort();
    server = await startTemporalDevServer({ port, dbFilename, logLevel: 'error' });
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const workflowId = `sqlite-wal-${Date.now()}`;
    // No worker serves this queue: the start itself is what must be durable.
    await client.workflow.start('nobodyServesThis', { taskQueue: 'sqlite-wal-nobody', workflowId });
    await connection.close();
    expect(fs.existsSync(`${dbFilename}-wal`)).toBe(true);

    const pids = childPids(
      (argv) => argv.includes('start-dev') && argv[argv.indexOf('--port') + 1] === String(port),
    );
    expect(pids).toHaveLength(1);
    process.kill(pids[0]!, 'SIGKILL');
    await server.stop().catch(() => undefined);
    server = undefined;

    server = await startTemporalDevServer({ port, dbFilename, logLevel: 'error' });
    const again = await Connection.connect({ address: server.address });
    try {
      const described = await new Client({ connection: again }).workflow.getHandle(workflowId).describe();
      expect(described.status.name).toBe('RUNNING');
      expect(described.type).toBe('nobodyServesThis');
    } finally {
      await again.close();
    }
  });
});

/**
 * bench:saga's real-agents subject: the `npm start` stack as shipped (`sagalane dev` in a child process of its own:
 * Temporal dev server, Redis, saga worker with lane-dispatched steps, express worker running the real agents, MCP,
 * metrics), driven from this process through the embedding client, `SagaClient.connect(config)` (its own
 * connection, so no eager start: an embedding service does not share the stack's worker connection). A separate
 * process, so the client sees the stack's event loop as another service would. `stop()` sends SIGINT to the stack
 * and waits for it to exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SagaClient } from '../../src/client/saga-client';
import { loadConfig } from '../../src/config';

const ROOT = path.resolve(__dirname, '..', '..');

export interface StackSubject {
  sagas: SagaClient;
  /** The stack's Temporal frontend (`host:port`), for reading histories. */
  temporalAddress: string;
  /** Process id of `sagalane dev` (the leader of its process group: dev server, Redis, workers). */
  pid: number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`sagalane dev: no ${pattern} within ${timeoutMs} ms; output:\n${out}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sagalane dev exited (${code}) before it was up; output:\n${out}`));
    });
  });
}

export async function startStackSubject(opts: {
  redisUrl: string;
  keyPrefix: string;
  /** Node options for the stack's process, e.g. `['--cpu-prof', '--cpu-prof-dir=/tmp/prof']` to profile it. */
  execArgv?: string[];
}): Promise<StackSubject> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-bench-stack-'));
  const temporalPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: opts.redisUrl,
    SAGALANE_KEY_PREFIX: opts.keyPrefix,
    SAGALANE_DATA_DIR: dataDir,
    SAGALANE_TEMPORAL_PORT: String(temporalPort),
    SAGALANE_TEMPORAL_UI_PORT: String(await freePort()),
    SAGALANE_MCP_PORT: '0',
    SAGALANE_METRICS_PORT: '0',
    SAGALANE_LOG_LEVEL: 'warn',
  };
  delete env.TEMPORAL_ADDRESS;
  const child = spawn(
    process.execPath,
    [...(opts.execArgv ?? []), path.join(ROOT, 'bin', 'sagalane.js'), 'dev'],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stopChild = async () => {
    if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGINT');
    const killer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 30_000);
    await exited;
    clearTimeout(killer);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForOutput(child, /Press Ctrl-C to stop/, 180_000);
    const sagas = await SagaClient.connect(
      loadConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, SAGALANE_KEY_PREFIX: opts.keyPrefix }),
    );
    return {
      sagas,
      temporalAddress: `127.0.0.1:${temporalPort}`,
      pid: child.pid!,
      async stop() {
        await sagas.close();
        await stopChild();
      },
    };
  } catch (err) {
    await stopChild();
    throw err;
  }
}

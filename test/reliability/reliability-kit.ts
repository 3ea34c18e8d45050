/**
 * Plumbing of the fault-injection suite: real child processes we can SIGKILL, a redis-server of our own we can
 * crash, free ports, and polling. Children run as `node --import tsx <script>` so the pid we kill is the process
 * doing the work (a `tsx` wrapper would survive as a parent and leave an orphan behind).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface ChildHandle {
  child: ChildProcess;
  name: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last few KiB of stdout + stderr, for failure messages. */
  output(): string;
  alive(): boolean;
}

/** Starts `script` (a .ts path relative to the repo root) and resolves once its stdout contains `readyMarker`. */
export async function spawnTs(
  name: string,
  script: string,
  env: Record<string, string>,
  readyMarker = 'ready',
  timeoutMs = 60_000,
): Promise<ChildHandle> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-8000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const handle: ChildHandle = {
    child,
    name,
    exited,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} not ready in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = () => {
      if (output.includes(readyMarker)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
  return handle;
}

/** SIGKILL, and wait until the process is gone. */
export async function killHard(h: ChildHandle): Promise<void> {
  if (h.alive()) h.child.kill('SIGKILL');
  await h.exited;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Polls `probe` until it returns a value (not undefined); fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`,
  );
}

/**
 * A redis-server of the test's own on a free port and a temp dir, durable on every write (`appendonly yes`,
 * `appendfsync always`), which the test may crash and start again on the same port and data. The shared Redis on
 * 6379 is never touched.
 */
export class DurableRedis {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-reliability-redis-'));
  private child?: ChildProcess;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(this.port),
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`redis-server on ${this.port} exited with ${child.exitCode}`);
      if (await portAnswers(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on ${this.port} did not start in 15 s`);
  }

  /** Crashes the server (SIGKILL: no shutdown save; only what the AOF fsynced survives). */
  async crash(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.crash();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The one figure line each scenario prints (grep `[reliability]` in the CI log). */
export function figure(scenario: string, facts: Record<string, string | number>): void {
  const text = Object.entries(facts)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(`[reliability] ${scenario}: ${text}`);
}

export class DeadlineExceededError extends Error {
  override readonly name = 'DeadlineExceededError';
}

/** Rejects with DeadlineExceededError if `promise` has not settled within `ms` (the promise itself keeps running). */
export async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineExceededError(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

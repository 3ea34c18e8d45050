/**
 * A redis-server of the test's own on a free port and a temp dir, durable on every write (`appendonly yes`,
 * `appendfsync always`), which the test may crash and start again on the same port and data. The shared Redis on
 * 6379 that other tests use is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { portAnswers } from './ports';
import { waitFor } from './wait';

export class PrivateRedis {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-test-redis-'));
  private child?: ChildProcess;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        ...['--bind', '127.0.0.1', '--port', String(this.port), '--dir', this.dir],
        ...['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    // A server that exited stops the wait at once (the probe's answer), not after the timeout.
    const up = await waitFor(
      `redis-server on ${this.port} to start`,
      async () =>
        child.exitCode !== null ? { exitCode: child.exitCode } : (await portAnswers(this.port)) && {},
      15_000,
      50,
    );
    if ('exitCode' in up) throw new Error(`redis-server on ${this.port} exited with ${up.exitCode}`);
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

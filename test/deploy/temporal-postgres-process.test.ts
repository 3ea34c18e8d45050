/**
 * Server processes of the Temporal-on-PostgreSQL run: a re-run stops what a killed run left behind (pid file), never
 * an unrelated process, refuses ports someone else holds, and does not outlive a `kill -9` of the process that
 * started it (Linux, through setpriv's parent-death signal).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  PortInUseError,
  startServerProcess,
  type ServerProcessOptions,
} from '../../src/dev/temporal-postgres-process';
import { boundToParent } from '../../src/dev/parent-bound-spawn';
import { isAlive, sleepingServerOptions } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

describe('Temporal-on-PostgreSQL server processes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-pg-process-'));
  const lines: string[] = [];
  const options = (extra: Partial<ServerProcessOptions> = {}): ServerProcessOptions => ({
    ...sleepingServerOptions(dir, (l) => lines.push(l)),
    ...extra,
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('stops the process a killed earlier run left behind before starting again', async () => {
    const left = await startServerProcess(options());
    const leftPid = left.child.pid!;
    expect(fs.readFileSync(path.join(dir, 'server.pid'), 'utf8')).toBe(String(leftPid));
    // A process an earlier run left behind has long been running its binary (or setpriv, before its exec). One
    // started a moment ago may still be the fork of this test's node, not yet exec'd, which the next run rightly
    // does not recognise as its own: wait until it is what a left-behind process is (.ci/run once caught that race).
    const argv0 = () => fs.readFileSync(`/proc/${leftPid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    await waitFor(
      'the left process to run its binary',
      () => argv0() === '/bin/sh' || argv0().endsWith('/setpriv'),
      5_000,
      20,
    );
    // The earlier run "died" without stopping it; the next run finds its pid file.
    const next = await startServerProcess(options());
    expect(isAlive(leftPid)).toBe(false);
    expect(lines.some((l) => l.includes(`left running by an earlier run (pid ${leftPid})`))).toBe(true);
    expect(next.alive()).toBe(true);
    await next.stop();
    expect(next.alive()).toBe(false);
    expect(fs.existsSync(path.join(dir, 'server.pid'))).toBe(false);
  });

  it('leaves a process alone whose arguments do not name this state dir', async () => {
    const other = await startServerProcess(options({ args: ['-c', 'sleep 60', '/elsewhere'] }));
    const next = await startServerProcess(options());
    expect(isAlive(other.child.pid!)).toBe(true);
    await Promise.all([other.stop(), next.stop()]);
  });

  // Linux only: the parent-death signal is a Linux feature. There setpriv must be installed (`npm test`'s set-up step,
  // scripts/ensure-deps.js, installs util-linux): without it the test fails, as the promtool tests do, rather than
  // being skipped where no summary shows it.
  (process.platform === 'linux' ? it : it.skip)(
    'takes the server down when the process that started it is killed with SIGKILL',
    async () => {
      if (!boundToParent('/bin/sh', []).bound) {
        throw new Error(
          'setpriv is not installed, so the parent-death signal cannot be checked. Install it (Debian/Ubuntu: ' +
            '`apt-get install util-linux`, which the set-up step of `npm test` does) or put setpriv on PATH.',
        );
      }
      const parentDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-pg-parent-'));
      const parent = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/fixtures/server-parent.ts', parentDir],
        {
          cwd: path.join(__dirname, '..', '..'),
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      try {
        const serverPid = await new Promise<number>((resolve, reject) => {
          let out = '';
          parent.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            const m = /server pid (\d+)/.exec(out);
            if (m) resolve(Number(m[1]));
          });
          parent.once('exit', (code) =>
            reject(new Error(`server-parent exited (${code}) before starting the server`)),
          );
        });
        expect(isAlive(serverPid)).toBe(true);
        // Once setpriv has exec'd, the server runs the binary itself: the pid-file check of the next run matches it.
        const argv0 = () => fs.readFileSync(`/proc/${serverPid}/cmdline`, 'utf8').split('\0')[0];
        await waitFor('the server process to be /bin/sh', () => argv0() === '/bin/sh', 2_000, 10);
        parent.kill('SIGKILL');
        await waitFor('the server to exit with its parent', () => !isAlive(serverPid), 5_000, 50);
      } finally {
        parent.kill('SIGKILL');
        fs.rmSync(parentDir, { recursive: true, force: true });
      }
    },
  );

  it('refuses to start on a port that already answers, naming the port and the settings', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as net.AddressInfo;
    try {
      await expect(startServerProcess(options({ ports: [port] }))).rejects.toThrow(PortInUseError);
      await expect(startServerProcess(options({ ports: [port] }))).rejects.toThrow(
        `127.0.0.1:${port} is already in use`,
      );
    } finally {
      holder.close();
    }
  });
});

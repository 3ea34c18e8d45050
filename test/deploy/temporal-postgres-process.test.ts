/**
 * Server processes of the Temporal-on-PostgreSQL run: a re-run stops what a killed run left behind (pid file), never
 * an unrelated process, and refuses ports someone else holds.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  PortInUseError,
  startServerProcess,
  type ServerProcessOptions,
} from '../../src/dev/temporal-postgres-process';

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('Temporal-on-PostgreSQL server processes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-pg-process-'));
  const lines: string[] = [];
  // `/bin/sh -c 'sleep 60' <dir>`: a long-running process whose arguments name the state dir, like the server's.
  const options = (extra: Partial<ServerProcessOptions> = {}): ServerProcessOptions => ({
    binary: '/bin/sh',
    args: ['-c', 'sleep 60', dir],
    cwd: dir,
    logFile: path.join(dir, 'server.log'),
    pidFile: path.join(dir, 'server.pid'),
    marker: dir,
    ports: [],
    log: (l) => lines.push(l),
    ...extra,
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('stops the process a killed earlier run left behind before starting again', async () => {
    const left = await startServerProcess(options());
    const leftPid = left.child.pid!;
    expect(fs.readFileSync(path.join(dir, 'server.pid'), 'utf8')).toBe(String(leftPid));
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

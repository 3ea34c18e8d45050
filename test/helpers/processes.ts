/** Process checks for tests that kill real processes. */
import path from 'node:path';
import type { ServerProcessOptions } from '../../src/dev/temporal-postgres-process';

/** Whether a process with this pid exists (a zombie counts; an orphan is reaped by init at once). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Options for startServerProcess that run a stand-in server, `/bin/sh -c 'sleep 60' <dir>`: long-running, and its
 * arguments name the state dir like the real server's do.
 */
export function sleepingServerOptions(dir: string, log: (line: string) => void): ServerProcessOptions {
  return {
    binary: '/bin/sh',
    args: ['-c', 'sleep 60', dir],
    cwd: dir,
    logFile: path.join(dir, 'server.log'),
    pidFile: path.join(dir, 'server.pid'),
    marker: dir,
    ports: [],
    log,
  };
}

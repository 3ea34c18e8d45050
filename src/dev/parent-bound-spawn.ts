/**
 * Long-running servers that `sagalane dev` starts must not outlive it. A SIGTERM or Ctrl-C is handled (the stack
 * stops them), but a `kill -9` of the dev process, or a test runner that kills it, would leave them running with
 * their ports taken. On Linux the child is started through util-linux `setpriv --pdeathsig TERM`, which asks the
 * kernel to send it SIGTERM when its parent dies; `setpriv` then execs the server, so the pid, the command line and
 * the pid-file leftover check stay the same. Where `setpriv` is missing, the command runs as given (the pid-file
 * check on the next run still stops a leftover). For a child a library spawns (the Temporal dev server), a small
 * detached watcher does the same job (`terminateWhenParentDies`).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const SETPRIV_CANDIDATES = ['/usr/bin/setpriv', '/bin/setpriv'];

function findSetpriv(env: NodeJS.ProcessEnv): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const candidate of [...SETPRIV_CANDIDATES, ...dirs.map((d) => path.join(d, 'setpriv'))]) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // Try the next one.
    }
  }
  return undefined;
}

/** The command and arguments to spawn so that `binary` gets SIGTERM when this process dies (where supported). */
export function boundToParent(
  binary: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { command: string; args: string[]; bound: boolean } {
  const setpriv = findSetpriv(env);
  if (!setpriv) return { command: binary, args: [...args], bound: false };
  return { command: setpriv, args: ['--pdeathsig', 'TERM', '--', binary, ...args], bound: true };
}

/**
 * The pids of this process's children whose command line satisfies `matches` (Linux: read from /proc). Used for
 * children that a library spawns without telling us their pid (the Temporal dev server of `@temporalio/testing`).
 */
export function childPids(matches: (argv: string[]) => boolean): number[] {
  if (process.platform !== 'linux') return [];
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so split after its closing paren.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      if (matches(fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0'))) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/**
 * For a child whose spawn we do not control: a detached watcher (`sh`, its own process group, so a signal to ours
 * does not reach it) that sends the child SIGTERM once this process is gone. Returns a function that stops the
 * watcher, to call when the child is stopped normally.
 */
export function terminateWhenParentDies(pid: number): () => void {
  const watcher = spawn(
    '/bin/sh',
    [
      '-c',
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -TERM "$2" 2>/dev/null',
      'sagalane-parent-watch',
      String(process.pid),
      String(pid),
    ],
    { detached: true, stdio: 'ignore' },
  );
  watcher.once('error', () => undefined);
  watcher.unref();
  return () => {
    try {
      if (watcher.pid) process.kill(watcher.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
}

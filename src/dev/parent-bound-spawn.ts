/**
 * Long-running servers that `sagalane dev` starts must not outlive it. A SIGTERM or Ctrl-C is handled (the stack
 * stops them), but a `kill -9` of the dev process, or a test runner that kills it, would leave them running with
 * their ports taken. On Linux the child is started through util-linux `setpriv --pdeathsig TERM`, which asks the
 * kernel to send it SIGTERM when its parent dies; `setpriv` then execs the server, so the pid, the command line and
 * the pid-file leftover check stay the same. Where `setpriv` is missing, the command runs as given (the pid-file
 * check on the next run still stops a leftover).
 */
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

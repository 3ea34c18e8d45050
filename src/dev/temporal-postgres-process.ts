/**
 * The child processes of the Temporal-on-PostgreSQL run (src/dev/temporal-postgres.ts): setup scripts whose
 * progress lines are passed on, and long-running servers whose output goes to a log file and whose pid goes to a pid
 * file, so a re-run after a killed run stops what that run left behind instead of finding the ports taken.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { boundToParent } from './parent-bound-spawn';

/** Runs `command` to its end, handing each output line to `onLine`; resolves with the exit code and the output's tail. */
export function runScript(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  onLine: (line: string) => void,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let partial = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-16_000);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(onLine);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/** The last lines of `output` that say what failed (temporal-sql-tool logs much else). */
export function failureTail(output: string): string {
  const lines = output.trim().split('\n');
  const errors = lines.filter((l) => /error|fatal|failed|refused|denied|does not exist/i.test(l));
  return (errors.length ? errors : lines).slice(-4).join('\n  ');
}

/** The last lines of a server log, JSON lines shortened to level, message and error (no stack traces). */
export function logTail(logFile: string): string {
  let text: string;
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    return '(no log)';
  }
  const short = (line: string) => {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
      return `${entry.level}: ${entry.msg}${entry.error ? ` (${entry.error})` : ''}`;
    } catch {
      return line;
    }
  };
  return text
    .trim()
    .split('\n')
    .slice(-6)
    .map((l) => short(l).slice(0, 400))
    .join('\n  ');
}

export interface ServerProcess {
  child: ChildProcess;
  alive(): boolean;
  /** SIGTERM, SIGKILL after 20 s; resolves once it has exited and its pid file is gone. Safe to call twice. */
  stop(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops the process a pid file names if it still runs `binary` with `marker` (the state dir) among its arguments:
 * one a killed earlier run left behind. Anything else with that pid is left alone.
 */
async function stopLeftover(
  pidFile: string,
  binary: string,
  marker: string,
  log: (l: string) => void,
): Promise<void> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  let argv: string[] = [];
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    // Not running (or no /proc): nothing to stop.
  }
  // A process started a moment ago may still be `setpriv … -- <binary> …` (parent-bound-spawn.ts) before its exec.
  if (argv[0]?.endsWith('/setpriv') && argv.includes('--')) argv = argv.slice(argv.indexOf('--') + 1);
  if (pid > 0 && argv[0] === binary && argv.includes(marker)) {
    log(`[sagalane]   stopping ${binary} left running by an earlier run (pid ${pid})`);
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(100);
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  fs.rmSync(pidFile, { force: true });
}

export interface ServerProcessOptions {
  binary: string;
  args: string[];
  cwd: string;
  /** stdout and stderr are appended here. */
  logFile: string;
  pidFile: string;
  /** An argument that identifies this run's processes (the state dir), for the leftover check. */
  marker: string;
  /** Loopback ports the process will listen on: one that already answers fails the start with a clear message. */
  ports: number[];
  log: (line: string) => void;
}

export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Stops a leftover of a killed earlier run, then starts `binary` with its output in `logFile`. */
export async function startServerProcess(opts: ServerProcessOptions): Promise<ServerProcess> {
  await stopLeftover(opts.pidFile, opts.binary, opts.marker, opts.log);
  for (const port of opts.ports) {
    if (await portAnswers(port)) {
      throw new PortInUseError(
        `127.0.0.1:${port} is already in use, so ${opts.binary} cannot start: stop what listens there or pick ` +
          'other ports (SAGALANE_TEMPORAL_PORT, SAGALANE_TEMPORAL_UI_PORT)',
      );
    }
  }
  const fd = fs.openSync(opts.logFile, 'a');
  // Bound to this process: a `kill -9` of `sagalane dev` takes the server down too (src/dev/parent-bound-spawn.ts).
  const launch = boundToParent(opts.binary, opts.args);
  const child = spawn(launch.command, launch.args, { cwd: opts.cwd, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  if (child.pid) fs.writeFileSync(opts.pidFile, String(child.pid));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => undefined);
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    alive,
    async stop() {
      if (alive()) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(killer);
      }
      fs.rmSync(opts.pidFile, { force: true });
    },
  };
}

/** Polls `url` until it answers 200; fails early if `proc` exits. */
export async function waitForHttp(
  url: string,
  proc: ServerProcess,
  deadline: number,
  logFile: string,
): Promise<void> {
  while (Date.now() < deadline) {
    if (!proc.alive()) throw new Error(`the process serving ${url} exited: ${logTail(logFile)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  throw new Error(`nothing answered on ${url} in time: ${logTail(logFile)}`);
}

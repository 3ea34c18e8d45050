/**
 * Plumbing of the fault-injection suite: real child processes we can SIGKILL, a redis-server of our own we can
 * crash, free ports, and polling (test/helpers/wait.ts). Children run as `node --import tsx <script>` so the pid
 * we kill is the process doing the work (a `tsx` wrapper would survive as a parent and leave an orphan behind).
 */
import { spawn, type ChildProcess } from 'node:child_process';
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

export { freePort, portAnswers } from '../helpers/ports';
export { PrivateRedis as DurableRedis } from '../helpers/private-redis';

/** Condition waits: the shared helper (test/helpers/wait.ts). */
export { waitFor } from '../helpers/wait';

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

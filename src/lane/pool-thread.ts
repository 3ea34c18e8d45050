/**
 * The thread side of the handler pool (piscina loads this file in each pool thread): loads a pooled handler's
 * module once per thread and calls its export. Errors come back as data, because an Error crossing the thread
 * boundary loses its own properties (`nonRetryable`).
 */
import fs from 'node:fs';
import os from 'node:os';
import type { PooledTaskContext } from './task-types';

export interface PoolTask {
  module: string;
  exportName: string;
  payload: unknown;
  ctx: PooledTaskContext;
  /** Niceness added to this thread's (0-19, see handler-pool.ts): how far below the event loop it runs. */
  nice: number;
}

export type PoolReply =
  | { ok: true; result: unknown }
  | { ok: false; error: { name: string; message: string; nonRetryable: boolean } };

type PooledFn = (payload: unknown, ctx: PooledTaskContext) => unknown;

const loaded = new Map<string, Promise<Record<string, unknown>>>();

let niceApplied: number | undefined;

/**
 * This thread's kernel thread id on Linux (`/proc/thread-self` → `<pid>/task/<tid>`), undefined elsewhere.
 * Linux's setpriority() takes a thread id and changes only that thread: the event loop keeps its priority.
 */
export function currentThreadId(): number | undefined {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Raises this thread's niceness by `nice` once, from what it inherited from the thread that created it (the event
 * loop's). Raising niceness needs no privilege; best effort all the same: on failure the thread keeps its priority.
 */
function applyNiceness(nice: number): void {
  if (niceApplied !== undefined || nice === 0) return;
  niceApplied = nice;
  const tid = currentThreadId();
  if (tid === undefined) return;
  try {
    os.setPriority(tid, Math.min(19, os.getPriority(tid) + nice));
  } catch {
    // the thread keeps the priority it inherited
  }
}

export default async function runPooledTask(task: PoolTask): Promise<PoolReply> {
  applyNiceness(task.nice);
  try {
    let mod = loaded.get(task.module);
    if (!mod) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = Promise.resolve().then(() => require(task.module) as Record<string, unknown>);
      loaded.set(task.module, mod);
    }
    const fn = (await mod)[task.exportName];
    if (typeof fn !== 'function')
      throw new Error(`pooled handler module ${task.module} has no function export "${task.exportName}"`);
    return { ok: true, result: await (fn as PooledFn)(task.payload, task.ctx) };
  } catch (err) {
    const e = err as { name?: unknown; message?: unknown; nonRetryable?: unknown };
    return {
      ok: false,
      error: {
        name: typeof e?.name === 'string' ? e.name : 'Error',
        message: typeof e?.message === 'string' ? e.message : String(err),
        nonRetryable: e?.nonRetryable === true,
      },
    };
  }
}

/**
 * The thread side of the handler pool (piscina loads this file in each pool thread): loads a pooled handler's
 * module once per thread and calls its export. Errors come back as data, because an Error crossing the thread
 * boundary loses its own properties (`nonRetryable`).
 */
import type { PooledTaskContext } from './task-types';

export interface PoolTask {
  module: string;
  exportName: string;
  payload: unknown;
  ctx: PooledTaskContext;
}

export type PoolReply =
  | { ok: true; result: unknown }
  | { ok: false; error: { name: string; message: string; nonRetryable: boolean } };

type PooledFn = (payload: unknown, ctx: PooledTaskContext) => unknown;

const loaded = new Map<string, Promise<Record<string, unknown>>>();

export default async function runPooledTask(task: PoolTask): Promise<PoolReply> {
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

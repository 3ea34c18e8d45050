/**
 * Worker-thread pools for pooled (CPU-bound) handlers, on piscina: one pool per lane and heap limit, so standard
 * CPU work never queues in front of an express task's thread, and a thread's heap is capped by V8
 * (`resourceLimits`). Aborting a task's signal terminates its thread (piscina's behaviour for a running task):
 * the hard stop behind `timeoutMs`, which an AbortSignal alone cannot give a synchronous loop.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import { LaneOptionsError } from './errors';
import type { Lane } from './keys';
import type { PoolReply, PoolTask } from './pool-thread';
import type { PooledHandler, PooledTaskContext } from './task-types';

export const DEFAULT_POOLED_HEAP_MB = 256;

/**
 * One express thread, and every core but one for standard work: the event loop (reading, dispatching, express
 * handlers) and Redis keep a core even while the standard lane is saturated with CPU-bound tasks.
 */
export function defaultPoolThreads(): Record<Lane, number> {
  return { express: 1, standard: Math.max(1, availableParallelism() - 1) };
}

/**
 * Niceness the pool threads run at above the event loop, per lane (Linux; elsewhere they run at the process's
 * priority). CPU-bound standard work runs 10 above it, so when it competes for a core with the event loop (which
 * reads, dispatches and completes express tasks) or with a Redis on the same machine, the kernel gives those the
 * CPU first (CFS weight 110 against 1024): express latency then does not depend on how many cores the standard
 * pool keeps busy, and an idle machine still gives the pool every spare cycle. Express threads keep the loop's.
 */
export const DEFAULT_POOL_NICENESS: Record<Lane, number> = { express: 0, standard: 10 };

export interface HandlerPoolOptions {
  /** Threads per lane. */
  threads: Record<Lane, number>;
  /** Niceness (0-19) each lane's threads add to the event loop's. @defaultValue { express: 0, standard: 10 } */
  niceness?: Record<Lane, number>;
  /** Idle threads exit after this long. @defaultValue 30000 */
  idleTimeoutMs?: number;
}

/** The pool thread file next to this one (.ts when run from source through tsx or ts-jest, .js when built). */
const THREAD_FILE = path.join(__dirname, `pool-thread${path.extname(__filename)}`);

function threadExecArgv(): string[] {
  // A .ts thread file needs the tsx loader in the thread too (ts-jest's in-process transform does not reach it).
  const argv = [...process.execArgv];
  if (THREAD_FILE.endsWith('.ts') && !argv.some((a) => a.includes('tsx'))) argv.push('--import', 'tsx');
  return argv;
}

/** A pooled run passed its time limit; its thread was terminated. */
export class PoolTimeoutError extends Error {
  override readonly name = 'PoolTimeoutError';
}

export class HandlerPools {
  private readonly pools = new Map<string, Piscina>();
  private readonly running: Record<Lane, number> = { express: 0, standard: 0 };
  private readonly waiting: Record<Lane, (() => void)[]> = { express: [], standard: [] };

  private readonly niceness: Record<Lane, number>;

  constructor(private readonly o: HandlerPoolOptions) {
    this.niceness = o.niceness ?? DEFAULT_POOL_NICENESS;
    for (const lane of ['express', 'standard'] as const) {
      const n = this.niceness[lane];
      if (!Number.isInteger(n) || n < 0 || n > 19)
        throw new LaneOptionsError(`HandlerPools: niceness.${lane} must be an integer in 0..19 (got ${n})`);
    }
  }

  /**
   * Runs a pooled handler once a thread of the lane is free. The time limit starts when the run gets its thread,
   * not while it waits for one (a queue of CPU tasks must not time out before running). Aborting `signal` (or
   * the time limit passing) terminates the thread.
   */
  async run(
    lane: Lane,
    handler: PooledHandler,
    payload: unknown,
    ctx: PooledTaskContext,
    { signal, timeoutMs }: { signal: AbortSignal; timeoutMs?: number },
  ): Promise<PoolReply> {
    await this.acquire(lane, signal);
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop.abort(new PoolTimeoutError(`no result within ${timeoutMs} ms`));
          }, timeoutMs);
    try {
      const task: PoolTask = {
        module: handler.module,
        exportName: handler.export ?? 'default',
        payload,
        ctx,
        nice: this.niceness[lane],
      };
      const pool = this.pool(lane, handler.maxHeapMb ?? DEFAULT_POOLED_HEAP_MB);
      return (await pool.run(task, { signal: stop.signal })) as PoolReply;
    } catch (err) {
      if (timedOut) throw new PoolTimeoutError(`no result within ${timeoutMs} ms`);
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      this.release(lane);
    }
  }

  private acquire(lane: Lane, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    if (this.running[lane] < this.o.threads[lane]) {
      this.running[lane]++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        this.running[lane]++;
        resolve();
      };
      const onAbort = () => {
        this.waiting[lane] = this.waiting[lane].filter((g) => g !== grant);
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting[lane].push(grant);
    });
  }

  private release(lane: Lane): void {
    this.running[lane]--;
    this.waiting[lane].shift()?.();
  }

  /** Threads currently alive, over all pools. */
  get threads(): number {
    let n = 0;
    for (const p of this.pools.values()) n += p.threads.length;
    return n;
  }

  /** Threads currently alive per lane (piscina starts them on demand and ends idle ones): what the board shows. */
  threadsByLane(): Record<Lane, number> {
    const n: Record<Lane, number> = { express: 0, standard: 0 };
    for (const [key, p] of this.pools) n[key.slice(0, key.indexOf(':')) as Lane] += p.threads.length;
    return n;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.destroy()));
  }

  private pool(lane: Lane, heapMb: number): Piscina {
    const key = `${lane}:${heapMb}`;
    let p = this.pools.get(key);
    if (!p) {
      p = new Piscina({
        filename: THREAD_FILE,
        minThreads: 0,
        maxThreads: this.o.threads[lane],
        idleTimeout: this.o.idleTimeoutMs ?? 30_000,
        execArgv: threadExecArgv(),
        resourceLimits: {
          maxOldGenerationSizeMb: heapMb,
          maxYoungGenerationSizeMb: Math.min(64, heapMb / 4),
        },
      });
      this.pools.set(key, p);
    }
    return p;
  }
}

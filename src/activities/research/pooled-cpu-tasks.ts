/**
 * The agents' CPU-heavy parts (codegen's sandbox smoke run, ml's parameter search, the backtest run) on the lane's
 * worker-thread pools: a `CpuTaskRunner` for `AgentDeps.runCpuTask`. The agent handler itself stays on the event
 * loop (it does I/O: artifacts, market data); only its CPU part leaves it. The codegen smoke run gets a small V8
 * heap on the express pool, the others the standard pool. Generated code itself is capped by the sandbox
 * (src/activities/research/strategy-sandbox.ts: its WebAssembly memory, outside these heaps), the same here as on the main
 * thread. Aborting the agent's signal (its task timed out) terminates the thread.
 */
import { CPU_TASKS, type CpuTaskName, type CpuTaskRunner } from './cpu-tasks';
import type { HandlerPools, Lane } from '../../core';

export interface PooledCpuTaskOptions {
  /** Heap limit of the thread running generated strategy code, MiB. @defaultValue 128 */
  sandboxHeapMb?: number;
  /** Heap limit of the search and backtest threads, MiB. @defaultValue 512 */
  analysisHeapMb?: number;
}

const LANE_OF: Record<CpuTaskName, Lane> = {
  codegenSmoke: 'express',
  parameterSearch: 'standard',
  backtestRun: 'standard',
};

/** A CPU task that failed in its thread, with the thread's error name, message and `nonRetryable` flag. */
export class PooledCpuTaskError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
    readonly nonRetryable: boolean,
  ) {
    super(message);
    this.name = errorName;
  }
}

export function createPooledCpuTaskRunner(pools: HandlerPools, o: PooledCpuTaskOptions = {}): CpuTaskRunner {
  const heap = (name: CpuTaskName) =>
    name === 'codegenSmoke' ? (o.sandboxHeapMb ?? 128) : (o.analysisHeapMb ?? 512);
  return async (name, input, hooks) => {
    const task = CPU_TASKS[name];
    const reply = await pools.run(
      LANE_OF[name],
      { module: task.module, export: task.exportName, maxHeapMb: heap(name) },
      input,
      { taskId: name, attempt: 1 },
      { signal: hooks?.signal ?? new AbortController().signal },
    );
    if (!reply.ok)
      throw new PooledCpuTaskError(reply.error.name, reply.error.message, reply.error.nonRetryable);
    return reply.result as never;
  };
}

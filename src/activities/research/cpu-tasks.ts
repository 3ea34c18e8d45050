/**
 * The agents' CPU-heavy parts as named tasks over serialisable inputs and outputs: codegen's sandbox smoke run,
 * ml's parameter search, the backtest run. Each lives in its own module with no I/O, so a worker-thread pool
 * (piscina) can run it from `CPU_TASKS[name].module` / `.exportName`; by default the agents call them in their own
 * thread (`runCpuTaskInProcess`). Progress and abort hooks only reach an in-thread run; a pool aborts by its own
 * `AbortSignal` and reports no progress.
 */
import type { CpuTaskHooks } from './cpu-task-hooks';
import { runBacktest, type BacktestRunResult, type BacktestRunTask } from './backtest-run';
import { smokeRunStrategy, type SmokeRunResult, type SmokeRunTask } from './codegen-smoke';
import { searchParameters, type ParameterSearchResult, type ParameterSearchTask } from './parameter-search';

export interface CpuTaskInputs {
  codegenSmoke: SmokeRunTask;
  parameterSearch: ParameterSearchTask;
  backtestRun: BacktestRunTask;
}
export interface CpuTaskOutputs {
  codegenSmoke: SmokeRunResult;
  parameterSearch: ParameterSearchResult;
  backtestRun: BacktestRunResult;
}
export type CpuTaskName = keyof CpuTaskInputs;

export type { CpuTaskHooks };

export type CpuTaskRunner = <K extends CpuTaskName>(
  name: K,
  input: CpuTaskInputs[K],
  hooks?: CpuTaskHooks,
) => Promise<CpuTaskOutputs[K]>;

/** Where a pool finds each task: the module file (resolved for .ts in source runs, .js in dist) and its export. */
export const CPU_TASKS: Record<CpuTaskName, { module: string; exportName: string }> = {
  codegenSmoke: { module: require.resolve('./codegen-smoke'), exportName: 'smokeRunStrategy' },
  parameterSearch: { module: require.resolve('./parameter-search'), exportName: 'searchParameters' },
  backtestRun: { module: require.resolve('./backtest-run'), exportName: 'runBacktest' },
};

const IN_PROCESS: {
  [K in CpuTaskName]: (input: CpuTaskInputs[K], hooks?: CpuTaskHooks) => Promise<CpuTaskOutputs[K]>;
} = {
  codegenSmoke: async (input) => smokeRunStrategy(input),
  parameterSearch: (input, hooks) => searchParameters(input, hooks),
  backtestRun: async (input) => runBacktest(input),
};

/** Runs the task in the calling thread. */
export const runCpuTaskInProcess: CpuTaskRunner = (name, input, hooks) => IN_PROCESS[name](input, hooks);

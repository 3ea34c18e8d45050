/**
 * Runs generated strategy code in an isolated `node:vm` context: no `require`, `process`, timers, `console` or
 * `eval`, and a time limit on every call. Data crosses the boundary only as JSON strings, so the code never holds a
 * host object it could climb out through (`bars.constructor.constructor('return process')`).
 *
 * Strategies are synchronous. A promise job runs after the time-limited call returns, where no limit applies, and
 * `vm`'s `microtaskMode: 'afterEvaluate'` (which would time-limit it) aborts Node when async hooks are active, as
 * under Temporal's activity context. So sources using `async`/`await` are refused before they run, and the
 * context's `Promise`, `Atomics`, `WeakRef` and `FinalizationRegistry` are removed (no way to queue work for later).
 *
 * This isolates mistakes, not determined attackers: `node:vm` is not a security boundary against code written to
 * escape it, and a strategy can still allocate memory. sagalane only runs code its own codegen produced.
 */
import vm from 'node:vm';
import { GeneratedCodeError } from './errors';
import type { Bar } from './market-data';

export interface SandboxOptions {
  /** Wall-clock limit of each synchronous run (loading the code, one `positions` call). @defaultValue 1000 */
  timeoutMs?: number;
  /** File name shown in stack traces. @defaultValue `strategy.js` */
  filename?: string;
}

const ASYNC_SYNTAX = /\basync\b|\bawait\b/;
// V8's own console (a no-op without an inspector) goes too: strategies have nothing to print to.
const DEFERRED_WORK_GLOBALS = [
  'Promise',
  'Atomics',
  'WeakRef',
  'FinalizationRegistry',
  'SharedArrayBuffer',
  'console',
];

/** A compiled strategy bound to one series of bars; call `positions(params)` as often as needed. */
export interface StrategyRunner {
  readonly barCount: number;
  positions(params: Record<string, number>): number[];
}

/** Compiles `source` (which must define `function positions(bars, params)`) and loads `bars` into its context. */
export function loadStrategy(
  source: string,
  bars: readonly Bar[],
  options: SandboxOptions = {},
): StrategyRunner {
  const timeout = options.timeoutMs ?? 1000;
  const filename = options.filename ?? 'strategy.js';
  if (!Number.isInteger(timeout) || timeout <= 0) throw new Error('timeoutMs must be a positive integer');
  if (ASYNC_SYNTAX.test(source)) {
    throw new GeneratedCodeError('generated code must be synchronous: it uses async/await', {
      phase: 'compile',
    });
  }
  const context = vm.createContext(
    {},
    { name: 'sagalane-strategy', codeGeneration: { strings: false, wasm: false } },
  );
  vm.runInContext(DEFERRED_WORK_GLOBALS.map((g) => `delete globalThis.${g};`).join(' '), context);
  const run = (code: string, what: string): unknown => {
    try {
      return vm.runInContext(code, context, { timeout, filename, displayErrors: false });
    } catch (err) {
      throw describeFailure(err, what, timeout);
    }
  };
  let script: vm.Script;
  try {
    script = new vm.Script(source, { filename });
  } catch (err) {
    throw new GeneratedCodeError(`generated code does not compile: ${(err as Error).message}`, {
      phase: 'compile',
    });
  }
  try {
    script.runInContext(context, { timeout, displayErrors: false });
  } catch (err) {
    throw describeFailure(err, 'loading the strategy', timeout);
  }
  if (run('typeof positions', 'checking the interface') !== 'function') {
    throw new GeneratedCodeError('generated code does not define function positions(bars, params)', {
      phase: 'interface',
    });
  }
  // A string is a primitive: parsing it inside the context makes the bars the context's own (frozen) objects.
  context.__sagalaneBars = JSON.stringify(bars);
  run(
    'globalThis.__bars = Object.freeze(JSON.parse(globalThis.__sagalaneBars).map(Object.freeze)); ' +
      'delete globalThis.__sagalaneBars;',
    'loading bars',
  );
  return {
    barCount: bars.length,
    positions(params) {
      context.__sagalaneParams = JSON.stringify(params);
      const out = run(
        'JSON.stringify(positions(__bars, Object.freeze(JSON.parse(globalThis.__sagalaneParams))))',
        `positions(bars, ${JSON.stringify(params)})`,
      );
      let parsed: unknown;
      try {
        parsed = typeof out === 'string' ? JSON.parse(out) : undefined;
      } catch {
        parsed = undefined;
      }
      return validatePositions(parsed, bars.length);
    },
  };
}

function validatePositions(value: unknown, barCount: number): number[] {
  if (!Array.isArray(value)) {
    throw new GeneratedCodeError('positions() must return an array of -1, 0 or 1 per bar', {
      phase: 'output',
    });
  }
  if (value.length !== barCount) {
    throw new GeneratedCodeError(`positions() returned ${value.length} values for ${barCount} bars`, {
      phase: 'output',
    });
  }
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (v !== -1 && v !== 0 && v !== 1) {
      throw new GeneratedCodeError(`position at bar ${i} is ${JSON.stringify(v)}; positions are -1, 0 or 1`, {
        phase: 'output',
      });
    }
  }
  return value as number[];
}

function describeFailure(err: unknown, what: string, timeoutMs: number): GeneratedCodeError {
  const e = err as { code?: string; message?: string; name?: string } | undefined;
  if (e?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
    return new GeneratedCodeError(`generated code ran longer than ${timeoutMs} ms while ${what}`, {
      phase: 'timeout',
      timeoutMs,
    });
  }
  // Errors thrown inside the context are the context's own Error objects: read fields, do not rely on instanceof.
  const message =
    e && typeof e === 'object' ? `${e.name ?? 'Error'}: ${e.message ?? String(err)}` : String(err);
  return new GeneratedCodeError(`generated code threw while ${what}: ${message}`, { phase: 'run' });
}

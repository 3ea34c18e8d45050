/**
 * Bench-only peer: the strategy sandbox as it was before issue 25 (src/activities/strategy-sandbox.ts at 82ea817,
 * node:vm), kept so `npm run bench:sandbox` can time the ml step in it beside the QuickJS sandbox in one run. It can
 * be escaped (`this.constructor.constructor('return process')()`): never use it outside the benchmark.
 */
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
 * A context is kept for later loads of the same source (see `kept` below: warm code across sagas; each load brings
 * its own bars, a failed call drops the context).
 *
 * This isolates mistakes, not determined attackers: `node:vm` is not a security boundary against code written to
 * escape it, and a strategy can still allocate memory. sagalane only runs code its own codegen produced.
 */
import vm from 'node:vm';
import { GeneratedCodeError } from '../../src/activities/research/errors';
import type { Bar } from '../../src/activities/research/market-data';
import { validatePositions } from '../../src/activities/research/strategy-sandbox';

export interface SandboxOptions {
  /** Wall-clock limit of each synchronous run (loading the code, one `positions` call). @defaultValue 1000 */
  timeoutMs?: number;
  /** File name shown in stack traces (a reused context keeps its first load's). @defaultValue `strategy.js` */
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

/**
 * Contexts of strategies loaded before, by source (least recently used first), at most `MAX_KEPT_STRATEGIES`: a
 * later load of the same source reuses the context its code was compiled and run in, so the code V8 has optimised
 * stays warm from one saga to the next (a fresh context runs a strategy interpreted at first: ~1 ms per `positions`
 * call against ~0.25 ms warm, 16 candidates per ml search). What this shares between loads is only what the
 * source's own top-level code set up: every load brings its own bars, and the time limit applies to every call as
 * before. Generated strategies keep no state between calls (their top level declares constants and functions), so
 * reuse cannot change a result; a context in which a call failed or timed out is dropped, and the next load of that
 * source starts afresh.
 */
const kept = new Map<string, KeptStrategy>();
export const MAX_KEPT_STRATEGIES = 8;

interface KeptStrategy {
  context: vm.Context;
  /** The runner whose bars are in the context now (runners of one source may interleave, e.g. two sagas). */
  barsOwner: object | undefined;
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
  const strategy = keptStrategy(source) ?? compileStrategy(source, timeout, filename);
  const { context } = strategy;
  const run = (code: string, what: string): unknown => {
    try {
      return vm.runInContext(code, context, { timeout, filename, displayErrors: false });
    } catch (err) {
      // Whatever the failed call left behind stays out of later loads.
      if (kept.get(source) === strategy) kept.delete(source);
      throw describeFailure(err, what, timeout);
    }
  };
  const owner = {};
  const loadBars = () => {
    // A string is a primitive: parsing it inside the context makes the bars the context's own (frozen) objects.
    context.__sagalaneBars = JSON.stringify(bars);
    run(
      'globalThis.__bars = Object.freeze(JSON.parse(globalThis.__sagalaneBars).map(Object.freeze)); ' +
        'delete globalThis.__sagalaneBars;',
      'loading bars',
    );
    strategy.barsOwner = owner;
  };
  loadBars();
  return {
    barCount: bars.length,
    positions(params) {
      if (strategy.barsOwner !== owner) loadBars();
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

function keptStrategy(source: string): KeptStrategy | undefined {
  const hit = kept.get(source);
  if (!hit) return undefined;
  kept.delete(source);
  kept.set(source, hit);
  return hit;
}

/** A fresh context with the source compiled and run, checked to define `positions`; kept for later loads. */
function compileStrategy(source: string, timeout: number, filename: string): KeptStrategy {
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
  let script: vm.Script;
  try {
    script = new vm.Script(source, { filename });
  } catch (err) {
    throw new GeneratedCodeError(`generated code does not compile: ${(err as Error).message}`, {
      phase: 'compile',
    });
  }
  const run = (what: string, f: () => unknown): unknown => {
    try {
      return f();
    } catch (err) {
      throw describeFailure(err, what, timeout);
    }
  };
  run('loading the strategy', () => script.runInContext(context, { timeout, displayErrors: false }));
  const kind = run('checking the interface', () =>
    vm.runInContext('typeof positions', context, { timeout, filename, displayErrors: false }),
  );
  if (kind !== 'function') {
    throw new GeneratedCodeError('generated code does not define function positions(bars, params)', {
      phase: 'interface',
    });
  }
  const strategy: KeptStrategy = { context, barsOwner: undefined };
  kept.set(source, strategy);
  while (kept.size > MAX_KEPT_STRATEGIES) kept.delete(kept.keys().next().value!);
  return strategy;
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

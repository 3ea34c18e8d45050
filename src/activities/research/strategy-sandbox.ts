/**
 * Runs generated strategy code in QuickJS compiled to WebAssembly (quickjs-emscripten): an interpreter with its own
 * heap inside a WASM memory, so nothing of the host (no `process`, `require`, Node's `Function`, timers, I/O) exists
 * where the code runs, and no host object is ever handed in. Data crosses the boundary only as copies (the bars'
 * numbers as a float64 buffer and their dates as JSON, once per load; the params as JSON in and the positions as
 * JSON out, per call), and the host validates what comes back.
 *
 * Limits, the same in every thread that runs this (an agent on the saga worker's main thread with
 * `SAGALANE_STEP_DISPATCH=inline`, or a lane pool thread), because QuickJS enforces them itself:
 * - memory: every allocation of the strategy's runtime (objects, strings, typed arrays and their buffers) counts
 *   against `memoryMb`; past it the allocation fails inside QuickJS and the call is a `GeneratedCodeError`
 *   (`phase: 'memory'`);
 * - CPU: QuickJS polls an interrupt handler while it runs, which stops the run at `timeoutMs` (loading the code, and
 *   each `positions` call; `phase: 'timeout'`), and its stack is capped at `MAX_STACK_BYTES`;
 * - no deferred work: promise jobs run only when the host asks (`executePendingJobs`), and it never does, so a job an
 *   `import()` or a promise queued never runs outside the limits.
 *
 * Chosen over isolated-vm by install and measurement (docs/BENCHMARKS.md, "Strategy sandbox"): QuickJS needs no
 * native build (isolated-vm compiles against Node's headers at install, or downloads a prebuilt binary), no
 * `--no-node-snapshot` in every process, and one build serves Node 20 and 24.
 *
 * A runtime is kept for later loads of the same source (see `kept`): each load brings its own bars, a failed call
 * disposes the runtime, and the next load of that source starts afresh. One WASM module per thread hosts them.
 */
import releaseSync from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';
import { GeneratedCodeError } from './errors';
import type { Bar } from './market-data';

export interface SandboxOptions {
  /** Wall-clock limit of each run (loading the code, one `positions` call). @defaultValue 1000 */
  timeoutMs?: number;
  /** Heap limit of the strategy's runtime, MiB: every allocation, typed arrays included. @defaultValue 64 */
  memoryMb?: number;
  /** File name shown in stack traces (a reused runtime keeps its first load's). @defaultValue `strategy.js` */
  filename?: string;
}

export const DEFAULT_SANDBOX_MEMORY_MB = 64;
/**
 * QuickJS's own stack limit: deep recursion is an exception inside the sandbox rather than an overflow of the host
 * thread's stack (the main thread's is the smallest, under 1 MiB). A few built-ins recurse without checking it
 * (`JSON.stringify` of a deeply nested value); they overflow the host's stack, which `guarded` contains.
 */
const MAX_STACK_BYTES = 128 * 1024;

/** A compiled strategy bound to one series of bars; call `positions(params)` as often as needed. */
export interface StrategyRunner {
  readonly barCount: number;
  positions(params: Record<string, number>): number[];
}

// Set up before the strategy's code, so the host calls functions the strategy did not write (it could still replace
// the globals they use: that only changes its own output, which the host validates). The bars come in as one buffer of
// their numbers (`BAR_FIELDS` per bar, as float64: the values themselves, no decimal text to parse) and their dates as
// a JSON array, and are rebuilt here as frozen `{ date, open, high, low, close, volume }` objects.
const BAR_FIELDS = 5;
const PRELUDE = `(() => {
  const parse = JSON.parse, stringify = JSON.stringify, freeze = Object.freeze, Float64 = Float64Array, List = Array;
  let bars;
  return {
    load(numbers, datesJson) {
      const values = new Float64(numbers);
      const dates = parse(datesJson);
      const list = new List(dates.length);
      for (let i = 0; i < dates.length; i++) {
        const k = ${BAR_FIELDS} * i;
        list[i] = freeze({
          date: dates[i], open: values[k], high: values[k + 1], low: values[k + 2], close: values[k + 3],
          volume: values[k + 4],
        });
      }
      bars = freeze(list);
    },
    run(params) { return stringify(positions(bars, freeze(parse(params)))); },
  };
})()`;
/**
 * This thread's QuickJS WASM modules, one per memory limit, each compiled once (about 20-40 ms, the sandbox's cold
 * start). A module's WebAssembly memory is created here with `maximum` set to the limit: QuickJS's own accounting
 * misses most allocations in this build (it has no `malloc_usable_size`, so a runtime's limit only stops single
 * allocations larger than it), while a memory that cannot grow makes every `malloc` past the limit fail, which
 * QuickJS turns into an out-of-memory exception. The runtimes of one module (the strategies kept below) share it.
 */
const modules = new Map<number, Promise<QuickJSWASMModule>>();
/** The loaded ones, for synchronous use (a runner's `positions`). */
const ready = new Map<number, QuickJSWASMModule>();
const WASM_PAGE_BYTES = 65_536;
// Node's global WebAssembly, which neither lib ES2022 nor @types/node declares; only its Memory is used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
const { WebAssembly } = globalThis as unknown as {
  WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory };
};
const memoryOf = new WeakMap<QuickJSWASMModule, WasmMemory>();
const maximumBytes = (memoryMb: number) => MODULE_BASE_BYTES + memoryMb * 1024 * 1024;

/** Whether the module's memory has grown to (nearly) its maximum: a `malloc` there fails. */
function atMemoryLimit(s: KeptStrategy): boolean {
  const memory = memoryOf.get(s.module);
  return memory !== undefined && memory.buffer.byteLength >= maximumBytes(s.memoryMb) - 4 * 1024 * 1024;
}
/** What the module itself needs before any strategy allocates (its static data and stack, Emscripten's default). */
const MODULE_BASE_BYTES = 16 * 1024 * 1024;

/**
 * The release-sync variant, loading its Emscripten module with `require` instead of its own `import()` (which Jest's
 * VM-based module system refuses without `--experimental-vm-modules`); the same file either way.
 */
const requiredVariant: typeof releaseSync = {
  ...releaseSync,
  importModuleLoader: async () =>
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@jitl/quickjs-wasmfile-release-sync/emscripten-module') as Awaited<
      ReturnType<typeof releaseSync.importModuleLoader>
    >,
};

export function sandboxModule(memoryMb = DEFAULT_SANDBOX_MEMORY_MB): Promise<QuickJSWASMModule> {
  let load = modules.get(memoryMb);
  if (!load) {
    const variant = newVariant(requiredVariant, {
      wasmMemory: async () => {
        memory = new WebAssembly.Memory({
          initial: MODULE_BASE_BYTES / WASM_PAGE_BYTES,
          maximum: maximumBytes(memoryMb) / WASM_PAGE_BYTES,
        });
        return memory;
      },
    });
    let memory: WasmMemory | undefined;
    load = newQuickJSWASMModuleFromVariant(variant).then(
      (module) => {
        ready.set(memoryMb, module);
        if (memory) memoryOf.set(module, memory);
        return module;
      },
      (err: unknown) => {
        modules.delete(memoryMb);
        throw err;
      },
    );
    modules.set(memoryMb, load);
  }
  return load;
}

/**
 * Runtimes of strategies loaded before, by source (least recently used first), at most `MAX_KEPT_STRATEGIES`: a later
 * load of the same source skips compiling it. What a kept runtime shares between loads is only what the source's
 * own top-level code set up; every load brings its own bars and the limits apply to every call. Generated strategies
 * keep no state between calls (their top level declares constants and functions), so reuse cannot change a result.
 */
const kept = new Map<string, KeptStrategy>();
export const MAX_KEPT_STRATEGIES = 8;

interface KeptStrategy {
  source: string;
  module: QuickJSWASMModule;
  runtime: QuickJSRuntime;
  context: QuickJSContext;
  load: QuickJSHandle;
  run: QuickJSHandle;
  memoryMb: number;
  /** When the running call must stop (read by the interrupt handler). */
  deadline: number;
  /** The runner whose bars are loaded now (runners of one source may interleave, e.g. two sagas). */
  barsOwner: object | undefined;
  alive: boolean;
}

/** Compiles `source` (which must define `function positions(bars, params)`) and loads `bars` into its runtime. */
export async function loadStrategy(
  source: string,
  bars: readonly Bar[],
  options: SandboxOptions = {},
): Promise<StrategyRunner> {
  const timeout = options.timeoutMs ?? 1000;
  const memoryMb = options.memoryMb ?? DEFAULT_SANDBOX_MEMORY_MB;
  const filename = options.filename ?? 'strategy.js';
  if (!Number.isInteger(timeout) || timeout <= 0) throw new Error('timeoutMs must be a positive integer');
  if (!Number.isInteger(memoryMb) || memoryMb < 1) throw new Error('memoryMb must be a positive integer');
  await sandboxModule(memoryMb);
  const barNumbers = new Float64Array(bars.length * BAR_FIELDS);
  bars.forEach((b, i) => {
    const k = i * BAR_FIELDS;
    barNumbers[k] = b.open;
    barNumbers[k + 1] = b.high;
    barNumbers[k + 2] = b.low;
    barNumbers[k + 3] = b.close;
    barNumbers[k + 4] = b.volume;
  });
  const barDates = JSON.stringify(bars.map((b) => b.date));
  const owner = {};
  let strategy: KeptStrategy | undefined;
  // A runtime dropped meanwhile (a failed call, evicted by other sources) is compiled again.
  const current = (): KeptStrategy => {
    if (strategy?.alive) return strategy;
    const quickjs = ready.get(memoryMb);
    if (!quickjs) {
      // Only after a fault of the module (see `guarded`) while this runner was in use; the next load works.
      void sandboxModule(memoryMb).catch(() => undefined);
      throw new GeneratedCodeError('the strategy sandbox was reset after a fault; load the strategy again', {
        phase: 'sandbox',
      });
    }
    strategy = keptStrategy(source, quickjs) ?? compileStrategy(quickjs, source, memoryMb, timeout, filename);
    return strategy;
  };
  const withBars = (): KeptStrategy => {
    const s = current();
    if (s.barsOwner !== owner) {
      call(s, 'load', [barNumbers.buffer, barDates], timeout, 'loading bars');
      s.barsOwner = owner;
    }
    return s;
  };
  withBars();
  return {
    barCount: bars.length,
    positions(params) {
      const paramsJson = JSON.stringify(params);
      const out = call(withBars(), 'run', [paramsJson], timeout, `positions(bars, ${paramsJson})`);
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

function keptStrategy(source: string, module: QuickJSWASMModule): KeptStrategy | undefined {
  const hit = kept.get(source);
  if (!hit) return undefined;
  if (hit.module !== module) {
    drop(hit);
    return undefined;
  }
  kept.delete(source);
  kept.set(source, hit);
  return hit;
}

/** A fresh runtime with the source compiled and run, checked to define `positions`; kept for later loads. */
function compileStrategy(
  quickjs: QuickJSWASMModule,
  source: string,
  memoryMb: number,
  timeout: number,
  filename: string,
): KeptStrategy {
  const runtime = quickjs.newRuntime();
  runtime.setMemoryLimit(memoryMb * 1024 * 1024);
  runtime.setMaxStackSize(MAX_STACK_BYTES);
  const context = runtime.newContext();
  const strategy: KeptStrategy = {
    source,
    module: quickjs,
    runtime,
    context,
    load: context.undefined,
    run: context.undefined,
    memoryMb,
    deadline: Infinity,
    barsOwner: undefined,
    alive: true,
  };
  runtime.setInterruptHandler(() => Date.now() > strategy.deadline);
  try {
    const api = evaluate(strategy, PRELUDE, 'sagalane-prelude.js', timeout, 'setting up');
    strategy.load = context.getProp(api, 'load');
    strategy.run = context.getProp(api, 'run');
    api.dispose();
    evaluate(strategy, source, filename, timeout, 'loading the strategy').dispose();
    const kind = evaluate(strategy, 'typeof positions', filename, timeout, 'checking the interface');
    const isFunction = context.getString(kind) === 'function';
    kind.dispose();
    if (!isFunction) {
      throw new GeneratedCodeError('generated code does not define function positions(bars, params)', {
        phase: 'interface',
      });
    }
  } catch (err) {
    drop(strategy);
    throw err;
  }
  kept.set(source, strategy);
  while (kept.size > MAX_KEPT_STRATEGIES) drop(kept.values().next().value!);
  return strategy;
}

/** Evaluates `code` under the limits; the result handle is the caller's to dispose. */
function evaluate(
  s: KeptStrategy,
  code: string,
  filename: string,
  timeout: number,
  what: string,
): QuickJSHandle {
  s.deadline = Date.now() + timeout;
  const result = guarded(s, () => s.context.evalCode(code, filename));
  s.deadline = Infinity;
  if (result.error) throw failure(s, result.error, what, timeout, what === 'loading the strategy');
  return result.value;
}

/** Calls `load` or `run` (arguments: strings, or a buffer copied in) under the limits; returns its string answer. */
function call(
  s: KeptStrategy,
  fn: 'load' | 'run',
  args: (string | ArrayBuffer)[],
  timeout: number,
  what: string,
): string | undefined {
  const { context } = s;
  const handles = args.map((a) => (typeof a === 'string' ? context.newString(a) : context.newArrayBuffer(a)));
  s.deadline = Date.now() + timeout;
  const result = guarded(s, () => context.callFunction(s[fn], context.undefined, ...handles));
  s.deadline = Infinity;
  for (const h of handles) h.dispose();
  if (result.error) throw failure(s, result.error, what, timeout, false);
  const out = context.typeof(result.value) === 'string' ? context.getString(result.value) : undefined;
  result.value.dispose();
  return out;
}

/**
 * Runs a QuickJS call. An exception thrown by the call itself (not by the code inside) is a fault of the WASM module
 * (a trap, e.g. the host's stack exhausted): the module is abandoned with every runtime in it, without freeing them
 * (its state cannot be trusted; the garbage collector takes its memory), and the next load compiles it again.
 */
function guarded<T>(s: KeptStrategy, f: () => T): T {
  try {
    return f();
  } catch (err) {
    for (const k of [...kept.values()]) if (k.module === s.module) drop(k, { free: false });
    drop(s, { free: false });
    if (ready.get(s.memoryMb) === s.module) {
      ready.delete(s.memoryMb);
      modules.delete(s.memoryMb);
    }
    const message = err instanceof Error ? err.message : String(err);
    throw new GeneratedCodeError(`the strategy sandbox failed: ${message}`, { phase: 'sandbox' });
  }
}

function drop(s: KeptStrategy, { free } = { free: true }): void {
  if (kept.get(s.source) === s) kept.delete(s.source);
  if (!s.alive) return;
  s.alive = false;
  if (!free) return;
  for (const h of [s.load, s.run]) if (h.alive && h !== s.context.undefined) h.dispose();
  s.context.dispose();
  s.runtime.dispose();
}

/** The `GeneratedCodeError` for an exception the code raised; the strategy's runtime is dropped (not reused). */
function failure(
  s: KeptStrategy,
  errorHandle: QuickJSHandle,
  what: string,
  timeoutMs: number,
  compiling: boolean,
): GeneratedCodeError {
  const { name, message, isNull } = thrown(s.context, errorHandle);
  errorHandle.dispose();
  const outOfMemory =
    (name === 'InternalError' && message === 'out of memory') || (isNull && atMemoryLimit(s));
  drop(s);
  if (name === 'InternalError' && message === 'interrupted') {
    return new GeneratedCodeError(`generated code ran longer than ${timeoutMs} ms while ${what}`, {
      phase: 'timeout',
      timeoutMs,
    });
  }
  if (outOfMemory) {
    return new GeneratedCodeError(
      `generated code ran out of memory (limit ${s.memoryMb} MiB) while ${what}`,
      { phase: 'memory', memoryMb: s.memoryMb },
    );
  }
  if (compiling && name === 'SyntaxError') {
    return new GeneratedCodeError(`generated code does not compile: ${name}: ${message}`, {
      phase: 'compile',
    });
  }
  return new GeneratedCodeError(`generated code threw while ${what}: ${name ?? 'Error'}: ${message}`, {
    phase: 'run',
  });
}

/**
 * The name and message of what the code threw, read field by field (a whole `dump` needs memory the runtime may not
 * have left). QuickJS throws `null` for an allocation that fails while it is already out of memory.
 */
function thrown(
  context: QuickJSContext,
  handle: QuickJSHandle,
): { name: string | undefined; message: string; isNull: boolean } {
  const field = (key: string): string | undefined => {
    try {
      const value = context.getProp(handle, key);
      const text = context.typeof(value) === 'string' ? context.getString(value) : undefined;
      value.dispose();
      return text;
    } catch {
      return undefined;
    }
  };
  const kind = context.typeof(handle);
  if (kind === 'object') {
    const isNull = context.sameValue(handle, context.null);
    if (isNull) return { name: undefined, message: 'null', isNull };
    return { name: field('name'), message: field('message') ?? '(no message)', isNull };
  }
  let message: string;
  try {
    message = kind === 'string' ? context.getString(handle) : String(context.dump(handle));
  } catch {
    message = `(a ${kind})`;
  }
  return { name: undefined, message, isNull: false };
}

/** What `positions()` must return: one of -1, 0 or 1 per bar (the bench's node:vm peer checks the same). */
export function validatePositions(value: unknown, barCount: number): number[] {
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

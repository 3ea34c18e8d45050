/**
 * Generated code runs in QuickJS (WebAssembly): no host object within its reach, its memory (typed arrays included)
 * and time limited, the same on the main thread (`SAGALANE_STEP_DISPATCH=inline`) as in a lane pool thread. Failures
 * are GeneratedCodeError and the process carries on.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { runCpuTaskInProcess, type CpuTaskRunner } from '../../src/activities/research/cpu-tasks';
import { GeneratedCodeError } from '../../src/activities/research/errors';
import type { Bar } from '../../src/activities/research/market-data';
import { smokeSampleBars } from '../../src/activities/research/strategy-codegen';
import { loadStrategy, MAX_KEPT_STRATEGIES } from '../../src/activities/research/strategy-sandbox';
import { HandlerPools } from '../../src/lane';
import { createPooledCpuTaskRunner } from '../../src/activities/research/pooled-cpu-tasks';

const bars = smokeSampleBars(50);
const flat = 'function positions(bars) { return bars.map(() => 0); }';

async function failure(run: () => unknown): Promise<GeneratedCodeError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(GeneratedCodeError);
    return err as GeneratedCodeError;
  }
  throw new Error('expected a GeneratedCodeError');
}

const positionsOf = async (source: string, options?: Parameters<typeof loadStrategy>[2]) =>
  (await loadStrategy(source, bars, options)).positions({});

/** 640 MiB of typed arrays, kept: far past the sandbox's 64 MiB, and outside any V8 heap cap of the host thread. */
const typedArrayBomb = `const keep = [];
function positions(bars) {
  for (let i = 0; i < 20; i++) keep.push(new Float64Array(2 ** 22));
  return bars.map(() => 0);
}`;

describe('strategy sandbox', () => {
  it('runs well-behaved code', async () => {
    expect(await positionsOf(flat)).toEqual(bars.map(() => 0));
  });

  it('code that throws is a non-retryable GeneratedCodeError with the thrown message', async () => {
    const err = await failure(() => positionsOf('function positions() { throw new TypeError("boom"); }'));
    expect(err.message).toMatch(/threw while positions\(bars, \{\}\): TypeError: boom/);
    expect(err.retryable).toBe(false);
    expect(err.type).toBe('GeneratedCodeFailed');
  });

  it('code that loops forever is stopped at the time limit, and the process keeps running', async () => {
    const started = Date.now();
    const err = await failure(() => positionsOf('function positions() { for (;;) {} }', { timeoutMs: 150 }));
    expect(err.message).toMatch(/ran longer than 150 ms/);
    expect(err.details).toMatchObject({ phase: 'timeout' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await positionsOf(flat)).toHaveLength(bars.length);
  });

  it('a top-level infinite loop is stopped; async code returns no positions', async () => {
    expect((await failure(() => loadStrategy('while (true) {}', bars, { timeoutMs: 100 }))).message).toMatch(
      /longer than/,
    );
    const asyncLoop = 'async function positions(bars) { await 0; for (;;) {} }';
    expect((await failure(() => positionsOf(asyncLoop))).message).toMatch(/must return an array/);
  });

  it('work queued for later (a promise job, an import() callback) never runs: no loop escapes the deadline', async () => {
    // Under node:vm the job ran on the host's microtask queue after the time-limited call returned: forever.
    const queued = `import('node:fs').then(function spin() { for (;;) {} }, function spin() { for (;;) {} });
      function positions(bars) {
        Promise.resolve().then(function spin() { for (;;) {} });
        return bars.map(() => 0);
      }`;
    expect(await positionsOf(queued, { timeoutMs: 200 })).toEqual(bars.map(() => 0));
    await nextTurn();
    await nextTurn();
    expect(await positionsOf(flat)).toHaveLength(bars.length);
  });

  describe('no host object is reachable', () => {
    // Each probe tries to get hold of something of the host: one with a `pid` (process), `readFileSync` (fs) or
    // `execSync` (child_process), at the top level and inside positions(). The strategy answers 1 at every bar when
    // it did. Under node:vm all but the last reached the host (the contextified global's prototype chain is the
    // host's, so its `constructor.constructor` is the host's Function).
    const escapes: Record<string, string> = {
      'this.constructor.constructor': `this.constructor.constructor('return process')()`,
      'Object.getPrototypeOf(globalThis).constructor': `Object.getPrototypeOf(globalThis).constructor.constructor('return process')()`,
      'bars.constructor.constructor': `bars.constructor.constructor('return process')()`,
      'import()': `(this.constructor.constructor('return import("node:fs")')().then((m) => { imported = m; }), undefined)`,
      require: `this.constructor.constructor('return process')().getBuiltinModule('node:child_process')`,
      'process, require and import() by name': `typeof process !== 'undefined' ? process : typeof require !== 'undefined' ? require('node:fs') : (import('node:fs').then((m) => { imported = m; }), undefined)`,
    };
    const probe = (expr: string) => `let imported;
      const host = (x) => x != null && (typeof x === 'object' || typeof x === 'function') &&
        (typeof x.pid === 'number' || typeof x.readFileSync === 'function' || typeof x.execSync === 'function');
      function attempt(bars) { try { return ${expr}; } catch (e) { return undefined; } }
      const atTopLevel = attempt([]);
      function positions(bars) {
        const reached = host(atTopLevel) || host(attempt(bars)) || host(imported);
        return bars.map(() => (reached ? 1 : 0));
      }`;

    it.each(Object.entries(escapes))('%s reaches nothing of the host', async (_name, expr) => {
      const runner = await loadStrategy(probe(expr), bars);
      expect(runner.positions({})).toEqual(bars.map(() => 0));
      await new Promise((resolve) => setTimeout(resolve, 50)); // an import() would have settled by now
      expect(runner.positions({})).toEqual(bars.map(() => 0));
    });

    it('has no require, process, timers, console, fetch or Buffer', async () => {
      const globals = `function positions(bars) {
        const seen = [typeof require, typeof process, typeof setTimeout, typeof setImmediate, typeof console,
          typeof globalThis.fetch, typeof Buffer, typeof module, typeof WebAssembly];
        if (seen.some((t) => t !== 'undefined')) throw new Error('leak: ' + seen.join(','));
        return bars.map(() => 0);
      }`;
      expect(await positionsOf(globals)).toHaveLength(bars.length);
    });
  });

  describe('memory', () => {
    it('a typed-array bomb stops at the memory limit, and the next strategy runs', async () => {
      const err = await failure(() => positionsOf(typedArrayBomb));
      expect(err.message).toMatch(/ran out of memory \(limit 64 MiB\)/);
      expect(err.details).toMatchObject({ phase: 'memory' });
      expect(await positionsOf(flat)).toHaveLength(bars.length);
    });

    it('so does one big allocation and a heap of small objects', async () => {
      const big = 'function positions(b) { const a = new ArrayBuffer(2 ** 29); return b.map(() => 0); }';
      expect((await failure(() => positionsOf(big))).details).toMatchObject({ phase: 'memory' });
      const many = 'const k = []; function positions(b) { for (;;) k.push({ a: k.length, b: [1, 2, 3] }); }';
      expect((await failure(() => positionsOf(many, { timeoutMs: 20_000 }))).details).toMatchObject({
        phase: 'memory',
      });
    });

    it('a fault of the WebAssembly module (the host stack overflowed) is contained and the next load works', async () => {
      // QuickJS's JSON.stringify recurses without checking its stack limit: the host thread's stack overflows.
      const deep = `function positions(b) {
        let o = {};
        for (let i = 0; i < 200000; i++) o = { o };
        JSON.stringify(o);
        return b.map(() => 0);
      }`;
      const err = await failure(() => positionsOf(deep));
      expect(err.details).toMatchObject({ phase: expect.stringMatching(/sandbox|run/) });
      expect(await positionsOf(flat)).toHaveLength(bars.length);
    });
  });

  describe('the same limits on the main thread (inline dispatch) and in a lane pool thread', () => {
    let pools: HandlerPools;
    beforeAll(() => {
      pools = new HandlerPools({ threads: { express: 1, standard: 1 } });
    });
    afterAll(async () => {
      await pools.close();
    });
    const smoke = (source: string) => ({
      source,
      params: {},
      bars: 60,
      sandboxTimeoutMs: 300,
      filename: 'probe.js',
    });
    const where: [string, () => CpuTaskRunner][] = [
      ['inline (this thread)', () => runCpuTaskInProcess],
      ['a lane pool thread', () => createPooledCpuTaskRunner(pools)],
    ];

    it.each(where)('%s: a typed-array bomb is refused at the memory limit', async (_name, runner) => {
      await expect(runner()('codegenSmoke', smoke(typedArrayBomb))).rejects.toMatchObject({
        name: 'GeneratedCodeError',
        message: expect.stringMatching(/ran out of memory \(limit 64 MiB\)/),
      });
    });

    it.each(where)('%s: an endless loop is stopped at the deadline', async (_name, runner) => {
      await expect(
        runner()('codegenSmoke', smoke('function positions() { for (;;) {} }')),
      ).rejects.toMatchObject({
        name: 'GeneratedCodeError',
        message: expect.stringMatching(/ran longer than 300 ms/),
      });
    });

    it.each(where)('%s: this.constructor.constructor reaches no process', async (_name, runner) => {
      const escape = `let p; try { p = this.constructor.constructor('return process')(); } catch (e) {}
        function positions(bars) { if (p) throw new Error('escaped: pid ' + p.pid); return bars.map(() => 0); }`;
      await expect(runner()('codegenSmoke', smoke(escape))).resolves.toEqual({ barsInMarket: 0 });
    });
  });

  it('rejects missing interfaces, syntax errors and malformed output', async () => {
    expect((await failure(() => loadStrategy('const x = 1;', bars))).message).toMatch(
      /does not define function positions/,
    );
    expect((await failure(() => loadStrategy('function positions( {', bars))).message).toMatch(
      /does not compile/,
    );
    expect((await failure(() => positionsOf('function positions() { return [1, 0]; }'))).message).toMatch(
      /returned 2 values for 50 bars/,
    );
    expect(
      (await failure(() => positionsOf('function positions(b) { return b.map(() => 0.5); }'))).message,
    ).toMatch(/position at bar 0 is 0.5/);
    expect((await failure(() => positionsOf('function positions() { return 7; }'))).message).toMatch(
      /must return an array/,
    );
  });

  it('gives the strategy the bars exactly: every field, the dates, each number to the last bit', async () => {
    const odd: Bar[] = [
      { date: '2020-01-01', open: 0.1 + 0.2, high: 1e-300, low: 5e-324, close: 123.456789012345, volume: 0 },
      { date: '2020-01-02', open: 1 / 3, high: 2 ** 53 + 2, low: 7, close: 100.1, volume: 1e21 },
    ];
    // The strategy answers by throwing what it sees (positions can only be -1, 0 or 1).
    const echo = `function positions(bars) {
      throw new Error(JSON.stringify(bars.map((b) => [Object.keys(b), Object.isFrozen(b), b.date, b.open, b.high, b.low, b.close, b.volume])));
    }`;
    const seen = (await failure(async () => (await loadStrategy(echo, odd)).positions({}))).message;
    expect(JSON.parse(seen.slice(seen.indexOf('[')))).toEqual(
      odd.map((b) => [Object.keys(b), true, b.date, b.open, b.high, b.low, b.close, b.volume]),
    );
  });

  it('gives the strategy frozen bars, so one run cannot change what the next sees', async () => {
    const mutate = `function positions(bars) { try { bars[0].close = -1; } catch (e) {} return bars.map((b) => (b.close < 0 ? 1 : 0)); }`;
    expect(await positionsOf(mutate)).toEqual(bars.map(() => 0));
  });

  describe('a source loaded again reuses its compiled runtime', () => {
    it('every load runs on its own bars, also when runners of one source interleave', async () => {
      const closes =
        'function positions(bars) { return bars.map((b, i) => (b.close > bars[0].close ? 1 : 0)); }';
      const up = smokeSampleBars(30).map((b, i) => ({ ...b, close: 100 + i }));
      const down = smokeSampleBars(40).map((b, i) => ({ ...b, close: 100 - i }));
      const a = await loadStrategy(closes, up);
      const b = await loadStrategy(closes, down);
      expect(a.positions({})).toEqual(up.map((_, i) => (i > 0 ? 1 : 0)));
      expect(b.positions({})).toEqual(down.map(() => 0));
      expect(a.positions({})).toEqual(up.map((_, i) => (i > 0 ? 1 : 0)));
    });

    it("keeps what the source's own code set up (generated code sets up only constants and functions)", async () => {
      const stateful =
        'const seen = []; function positions(b) { seen.push(1); return b.map(() => (seen.length > 1 ? 1 : 0)); }';
      expect(await positionsOf(stateful)).toEqual(bars.map(() => 0));
      expect(await positionsOf(stateful)).toEqual(bars.map(() => 1));
    });

    it('drops a runtime in which a call failed: the next load of that source starts afresh', async () => {
      const failsFirst =
        'let calls = 0; function positions(b) { calls++; if (calls === 1) throw new Error("first call"); return b.map(() => 0); }';
      expect((await failure(() => positionsOf(failsFirst))).message).toMatch(/first call/);
      expect((await failure(() => positionsOf(failsFirst))).message).toMatch(/first call/);
      const slowFirst =
        'let calls = 0; function positions(b) { calls++; if (calls === 1) for (;;) {} return b.map(() => 0); }';
      expect((await failure(() => positionsOf(slowFirst, { timeoutMs: 50 }))).message).toMatch(
        /longer than 50 ms/,
      );
      expect((await failure(() => positionsOf(slowFirst, { timeoutMs: 50 }))).message).toMatch(
        /longer than 50 ms/,
      );
    });

    it('keeps at most MAX_KEPT_STRATEGIES sources', async () => {
      const counting = (n: number) =>
        `const seen = []; function positions(b) { seen.push(${n}); return b.map(() => (seen.length > 1 ? 1 : 0)); }`;
      expect((await positionsOf(counting(0)))[0]).toBe(0);
      for (let n = 1; n <= MAX_KEPT_STRATEGIES; n++) await loadStrategy(counting(n), bars);
      // Source 0 was the least recently used: its runtime is gone, so its state starts again.
      expect((await positionsOf(counting(0)))[0]).toBe(0);
    });
  });
});

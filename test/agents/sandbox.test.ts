/** Generated code runs isolated and time-limited; failures are GeneratedCodeError and the process carries on. */
import { GeneratedCodeError } from '../../src/activities/errors';
import { smokeSampleBars } from '../../src/activities/strategy-codegen';
import { loadStrategy, MAX_KEPT_STRATEGIES } from '../../src/activities/strategy-sandbox';

const bars = smokeSampleBars(50);
const flat = 'function positions(bars) { return bars.map(() => 0); }';

function failure(fn: () => unknown): GeneratedCodeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GeneratedCodeError);
    return err as GeneratedCodeError;
  }
  throw new Error('expected a GeneratedCodeError');
}

describe('strategy sandbox', () => {
  it('runs well-behaved code', () => {
    expect(loadStrategy(flat, bars).positions({})).toEqual(bars.map(() => 0));
  });

  it('code that throws is a non-retryable GeneratedCodeError with the thrown message', () => {
    const err = failure(() =>
      loadStrategy('function positions() { throw new TypeError("boom"); }', bars).positions({}),
    );
    expect(err.message).toMatch(/threw while positions\(bars, \{\}\): TypeError: boom/);
    expect(err.retryable).toBe(false);
    expect(err.type).toBe('GeneratedCodeFailed');
  });

  it('code that loops forever is stopped at the time limit, and the process keeps running', () => {
    const started = Date.now();
    const err = failure(() =>
      loadStrategy('function positions() { for (;;) {} }', bars, { timeoutMs: 150 }).positions({}),
    );
    expect(err.message).toMatch(/ran longer than 150 ms/);
    expect(Date.now() - started).toBeLessThan(10_000);
    // Still alive and able to run more code.
    expect(loadStrategy(flat, bars).positions({})).toHaveLength(bars.length);
  });

  it('a top-level infinite loop is stopped; code that could queue work past the limit is refused', () => {
    expect(failure(() => loadStrategy('while (true) {}', bars, { timeoutMs: 100 })).message).toMatch(
      /longer than/,
    );
    const asyncLoop = 'async function positions(bars) { await 0; for (;;) {} }';
    expect(failure(() => loadStrategy(asyncLoop, bars)).message).toMatch(/must be synchronous/);
    const promiseLoop =
      'function positions() { Promise.resolve().then(function spin() { for (;;) {} }); return []; }';
    expect(failure(() => loadStrategy(promiseLoop, bars).positions({})).message).toMatch(
      /ReferenceError: Promise is not defined/,
    );
  });

  it('has no require, process, timers, console or eval', () => {
    const probe = `function positions(bars) {
      const seen = [typeof require, typeof process, typeof setTimeout, typeof setImmediate, typeof console,
        typeof globalThis.fetch, typeof Buffer];
      if (seen.some((t) => t !== 'undefined')) throw new Error('leak: ' + seen.join(','));
      return bars.map(() => 0);
    }`;
    expect(loadStrategy(probe, bars).positions({})).toHaveLength(bars.length);
    expect(
      failure(() => loadStrategy('function positions() { return eval("[]"); }', bars).positions({})).message,
    ).toMatch(/EvalError|Code generation from strings disallowed/);
    // Host objects do not leak in: the bars are the context's own, so their constructor chain stays inside.
    const escape =
      'function positions(bars) { const p = bars.constructor.constructor("return typeof process")(); return [p]; }';
    expect(failure(() => loadStrategy(escape, bars).positions({})).message).toMatch(/EvalError|disallowed/);
  });

  it('rejects missing interfaces, syntax errors and malformed output', () => {
    expect(failure(() => loadStrategy('const x = 1;', bars)).message).toMatch(
      /does not define function positions/,
    );
    expect(failure(() => loadStrategy('function positions( {', bars)).message).toMatch(/does not compile/);
    expect(
      failure(() => loadStrategy('function positions() { return [1, 0]; }', bars).positions({})).message,
    ).toMatch(/returned 2 values for 50 bars/);
    expect(
      failure(() => loadStrategy('function positions(b) { return b.map(() => 0.5); }', bars).positions({}))
        .message,
    ).toMatch(/position at bar 0 is 0.5/);
    expect(
      failure(() => loadStrategy('function positions() { return 7; }', bars).positions({})).message,
    ).toMatch(/must return an array/);
  });

  it('gives the strategy frozen bars, so one run cannot change what the next sees', () => {
    const mutate = `function positions(bars) { try { bars[0].close = -1; } catch (e) {} return bars.map((b) => (b.close < 0 ? 1 : 0)); }`;
    expect(loadStrategy(mutate, bars).positions({})).toEqual(bars.map(() => 0));
  });

  describe('a source loaded again reuses its compiled context (warm code from one saga to the next)', () => {
    it('every load runs on its own bars, also when runners of one source interleave', () => {
      const closes =
        'function positions(bars) { return bars.map((b, i) => (b.close > bars[0].close ? 1 : 0)); }';
      const up = smokeSampleBars(30).map((b, i) => ({ ...b, close: 100 + i }));
      const down = smokeSampleBars(40).map((b, i) => ({ ...b, close: 100 - i }));
      const a = loadStrategy(closes, up);
      const b = loadStrategy(closes, down);
      expect(a.positions({})).toEqual(up.map((_, i) => (i > 0 ? 1 : 0)));
      expect(b.positions({})).toEqual(down.map(() => 0));
      expect(a.positions({})).toEqual(up.map((_, i) => (i > 0 ? 1 : 0)));
    });

    it("keeps what the source's own code set up (generated code sets up only constants and functions)", () => {
      const stateful =
        'const seen = []; function positions(b) { seen.push(1); return b.map(() => (seen.length > 1 ? 1 : 0)); }';
      expect(loadStrategy(stateful, bars).positions({})).toEqual(bars.map(() => 0));
      expect(loadStrategy(stateful, bars).positions({})).toEqual(bars.map(() => 1));
    });

    it('drops a context in which a call failed: the next load of that source starts afresh', () => {
      const failsFirst =
        'let calls = 0; function positions(b) { calls++; if (calls === 1) throw new Error("first call"); return b.map(() => 0); }';
      expect(failure(() => loadStrategy(failsFirst, bars).positions({})).message).toMatch(/first call/);
      expect(failure(() => loadStrategy(failsFirst, bars).positions({})).message).toMatch(/first call/);
      const slowFirst =
        'let calls = 0; function positions(b) { calls++; if (calls === 1) for (;;) {} return b.map(() => 0); }';
      expect(failure(() => loadStrategy(slowFirst, bars, { timeoutMs: 50 }).positions({})).message).toMatch(
        /longer than 50 ms/,
      );
      expect(failure(() => loadStrategy(slowFirst, bars, { timeoutMs: 50 }).positions({})).message).toMatch(
        /longer than 50 ms/,
      );
    });

    it('keeps at most MAX_KEPT_STRATEGIES sources', () => {
      const counting = (n: number) =>
        `const seen = []; function positions(b) { seen.push(${n}); return b.map(() => (seen.length > 1 ? 1 : 0)); }`;
      expect(loadStrategy(counting(0), bars).positions({})[0]).toBe(0);
      for (let n = 1; n <= MAX_KEPT_STRATEGIES; n++) loadStrategy(counting(n), bars);
      // Source 0 was the least recently used: its context is gone, so its state starts again.
      expect(loadStrategy(counting(0), bars).positions({})[0]).toBe(0);
    });
  });
});

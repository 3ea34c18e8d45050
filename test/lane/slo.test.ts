/** Latency objectives (pure parts): validation, objective precedence, the sliding minute of counters. */
import { z } from 'zod';
import { defineTaskType, LaneOptionsError } from '../../src/lane';
import { AttainmentWindow, attainmentOf, SloTracker, SLO_WINDOW_MS } from '../../src/lane/slo';
import { resolveWorkerOptions } from '../../src/lane/worker-options';

const type = (name: string, sloMs?: unknown) =>
  defineTaskType({
    name,
    schema: z.object({}),
    handler: async () => null,
    ...(sloMs !== undefined ? { defaults: { sloMs: sloMs as never } } : {}),
  });

describe('latency objectives', () => {
  it('accepts positive integer ms per lane and refuses anything else', () => {
    expect(type('a', { express: 250, standard: 5000 }).defaults.sloMs).toEqual({
      express: 250,
      standard: 5000,
    });
    expect(type('b').defaults.sloMs).toBeUndefined();
    for (const bad of [{ express: 0 }, { standard: -5 }, { express: 1.5 }, { urgent: 100 }, 100, [100]])
      expect(() => type('c', bad)).toThrow(LaneOptionsError);
    expect(() => resolveWorkerOptions({ types: [type('d')], sloMs: { express: 0 } })).toThrow(
      /sloMs\.express/,
    );
    expect(resolveWorkerOptions({ types: [type('e')] }).sloMs).toEqual({});
  });

  it("takes a type's own objective per lane, else the worker's, else none", () => {
    const t = new SloTracker([type('own', { express: 100 }), type('plain')], { standard: 2000 });
    expect(t.readings().map((r) => [r.type, r.lane, r.objectiveMs])).toEqual([
      ['own', 'express', 100],
      ['own', 'standard', 2000],
      ['plain', 'standard', 2000],
    ]);
    expect(new SloTracker([type('none')]).active).toBe(false);
  });

  it('counts an outcome within the objective as met, a slower one or a dead letter as missed', () => {
    const t = new SloTracker([type('t', { express: 100 })]);
    const now = 1_000_000;
    t.record('t', 'express', 100, now); // at the objective: met
    t.record('t', 'express', 101, now);
    t.record('t', 'express', undefined, now); // dead-lettered
    t.record('t', 'standard', 5, now); // no objective in this lane: not counted
    t.record('other', 'express', 5, now);
    expect(t.readings(now)).toEqual([{ type: 't', lane: 'express', objectiveMs: 100, met: 1, total: 3 }]);
    expect(t.worstAttainment(now)).toEqual({ express: 1 / 3, standard: undefined });
  });

  it('gives the lowest attainment of a lane over its types, and none for a lane with nothing finished', () => {
    const t = new SloTracker([type('a', { express: 100 }), type('b', { express: 100 })]);
    const now = 5_000_000;
    for (let i = 0; i < 10; i++) t.record('a', 'express', 10, now);
    for (let i = 0; i < 10; i++) t.record('b', 'express', i < 8 ? 10 : 500, now);
    expect(t.worstAttainment(now)).toEqual({ express: 0.8, standard: undefined });
    expect(attainmentOf({ met: 0, total: 0 })).toBeUndefined();
  });

  it('slides over the last minute in 5 s steps, with a fixed number of counters', () => {
    const w = new AttainmentWindow();
    const t0 = 60_000_000;
    for (let i = 0; i < 100; i++) w.record(false, t0);
    w.record(true, t0 + 30_000);
    expect(w.read(t0 + 30_000)).toEqual({ met: 1, total: 101 });
    // The first bucket leaves the window once a minute has passed; the later one stays until its own minute.
    expect(w.read(t0 + SLO_WINDOW_MS - 1)).toEqual({ met: 1, total: 101 });
    expect(w.read(t0 + SLO_WINDOW_MS + 5_000)).toEqual({ met: 1, total: 1 });
    // A slot reused a minute later starts from zero rather than adding to the old bucket.
    w.record(true, t0 + SLO_WINDOW_MS);
    expect(w.read(t0 + SLO_WINDOW_MS)).toEqual({ met: 2, total: 2 });
    expect(w.read(t0 + 10 * SLO_WINDOW_MS)).toEqual({ met: 0, total: 0 });
  });
});

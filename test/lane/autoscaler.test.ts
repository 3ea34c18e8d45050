/** The autoscaler's policy (pure): it reacts to waiting work and running ages, per process, with jitter. */
import { decideConcurrency, jitteredInterval, type LaneLoad } from '../../src/lane/autoscaler';

const idle: LaneLoad = { waiting: 0, oldestWaitingMs: 0, running: 0, capacity: 3, youngestRunningMs: 0 };
const input = (over: {
  current?: number;
  p95Ms?: number;
  express?: Partial<LaneLoad>;
  standard?: Partial<LaneLoad>;
}) => {
  const current = over.current ?? 4;
  return {
    current,
    min: 2,
    max: 16,
    targetP95Ms: 100,
    p95Ms: over.p95Ms ?? 0,
    lanes: {
      express: { ...idle, capacity: current, ...over.express },
      standard: { ...idle, capacity: current - 1, ...over.standard },
    },
  };
};

describe('autoscaler decision', () => {
  it('scales up while long tasks hold every standard slot and work waits, with nothing finished yet', () => {
    // The case the old policy missed: p95 of finished tasks is 0 while 2.5 s tasks run.
    const d = decideConcurrency(
      input({ p95Ms: 0, standard: { waiting: 10, running: 3, youngestRunningMs: 800, oldestWaitingMs: 50 } }),
    );
    expect(d.to).toBe(6);
    expect(d.reason).toMatch(/standard slot busy/);
  });

  it('scales up on the age of the oldest waiting entry', () => {
    const d = decideConcurrency(
      input({ standard: { waiting: 40, running: 3, youngestRunningMs: 20, oldestWaitingMs: 400 } }),
    );
    expect(d.to).toBe(6);
    expect(d.reason).toMatch(/oldest waiting standard entry 400 ms/);
  });

  it('does not scale up when this process still has free slots, however large the group backlog', () => {
    const d = decideConcurrency(
      input({ standard: { waiting: 5000, running: 1, youngestRunningMs: 900, oldestWaitingMs: 5000 } }),
    );
    expect(d.to).toBe(4);
  });

  it('never adds more slots than there is waiting work, nor goes past max', () => {
    const late = { running: 3, youngestRunningMs: 500, oldestWaitingMs: 500 };
    expect(decideConcurrency(input({ standard: { ...late, waiting: 1 } })).to).toBe(5);
    expect(
      decideConcurrency(input({ current: 15, standard: { ...late, running: 14, capacity: 14, waiting: 99 } }))
        .to,
    ).toBe(16);
    expect(
      decideConcurrency(input({ current: 16, standard: { ...late, running: 15, capacity: 15, waiting: 99 } }))
        .to,
    ).toBe(16);
  });

  it('holds while waiting work is young and the SLA is met', () => {
    const d = decideConcurrency(
      input({ p95Ms: 20, standard: { waiting: 5, running: 3, youngestRunningMs: 10, oldestWaitingMs: 10 } }),
    );
    expect(d).toEqual({ to: 4, reason: 'steady' });
  });

  it('scales up when a lane misses its latency objective, though every other signal is within target', () => {
    // Young waiting work, young runs, p95 met: steady, unless the last minute's attainment is under 95 %.
    const busy = { waiting: 6, running: 3, youngestRunningMs: 20, oldestWaitingMs: 30 };
    expect(decideConcurrency(input({ p95Ms: 50, standard: { ...busy, attainment: 0.96 } })).to).toBe(4);
    const d = decideConcurrency(input({ p95Ms: 50, standard: { ...busy, attainment: 0.9 } }));
    expect(d).toEqual({ to: 6, reason: 'standard SLO attainment 90 % < 95 % with 6 waiting' });
    const express = decideConcurrency(
      input({ p95Ms: 50, express: { ...busy, running: 4, attainment: 0.5 }, standard: { running: 0 } }),
    );
    expect(express.reason).toMatch(/^express SLO attainment 50 % < 95 %/);
  });

  it('does not scale up on a missed objective with nothing waiting, with free slots, or past max', () => {
    const missed = { running: 3, youngestRunningMs: 20, oldestWaitingMs: 30, attainment: 0.2 };
    // Nothing waits: the misses are run time, which more slots do not shorten.
    expect(decideConcurrency(input({ standard: { ...missed, waiting: 0 } })).to).toBe(4);
    expect(decideConcurrency(input({ standard: { ...missed, running: 1, waiting: 5 } })).to).toBe(4);
    expect(
      decideConcurrency(
        input({ current: 16, standard: { ...missed, running: 15, capacity: 15, waiting: 9 } }),
      ).to,
    ).toBe(16);
  });

  it('scales down toward min when nothing waits and half the slots are idle', () => {
    expect(decideConcurrency(input({ current: 8 })).to).toBe(4);
    expect(decideConcurrency(input({ current: 4 })).to).toBe(2);
    expect(decideConcurrency(input({ current: 2 })).to).toBe(2);
    expect(decideConcurrency(input({ current: 8, standard: { running: 4, capacity: 7 } })).to).toBe(4);
    expect(decideConcurrency(input({ current: 8, standard: { running: 5, capacity: 7 } })).to).toBe(8);
  });

  it('spreads the sampling period of processes over ±25 %', () => {
    expect(jitteredInterval(1000, () => 0)).toBe(750);
    expect(jitteredInterval(1000, () => 0.5)).toBe(1000);
    expect(jitteredInterval(1000, () => 0.999)).toBe(1250);
    const draws = new Set(Array.from({ length: 50 }, () => jitteredInterval(1000)));
    expect(draws.size).toBeGreaterThan(10);
  });
});

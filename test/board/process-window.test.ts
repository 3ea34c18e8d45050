/**
 * The board's last-minute figures from a real metrics registry: done per minute, failed runs, and the p95 as the
 * upper bound of the bucket holding it, computed from the difference between two samples (what happened before the
 * older sample does not count).
 */
import { ProcessWindow } from '../../src/board/process-window';
import { createMetrics } from '../../src/observability';

describe('ProcessWindow', () => {
  it('reports what happened between its oldest and newest sample, per type and lane', async () => {
    const metrics = createMetrics();
    const e = metrics.express;
    const lane = { type: 'echo', lane: 'express' };
    // Before the first sample: must not count.
    e.succeeded.inc(lane, 1000);
    e.runSeconds.observe(lane, 30);
    const window = new ProcessWindow(metrics, 1000);
    const t0 = 1_000_000;
    expect((await window.figures(t0)).size).toBe(0);

    e.succeeded.inc(lane, 300);
    for (let i = 0; i < 94; i++) e.runSeconds.observe(lane, 0.004);
    for (let i = 0; i < 6; i++) e.runSeconds.observe(lane, 0.2);
    e.retried.inc(lane, 2);
    e.dead.inc(lane, 1);
    const figures = (await window.figures(t0 + 30_000)).get('echo\u0000express');
    expect(figures).toEqual({
      throughputPerMin: 600,
      failures: 3,
      p95RunMs: 250,
      p95WaitMs: undefined,
      windowS: 30,
    });
  });

  it('forgets samples older than a minute and samples at most once per spacing', async () => {
    const metrics = createMetrics();
    const lane = { type: 'hash', lane: 'standard' };
    const window = new ProcessWindow(metrics, 1000);
    const t0 = 5_000_000;
    await window.figures(t0);
    metrics.express.succeeded.inc(lane, 120);
    await window.figures(t0 + 30_000);
    metrics.express.succeeded.inc(lane, 60);
    // 90 s after the first sample: it has left the window (its 120 do not count); 60 in the 60 s since t0 + 30 s.
    const now = (await window.figures(t0 + 90_000)).get('hash\u0000standard');
    expect(now).toMatchObject({ throughputPerMin: 60, windowS: 60 });
    metrics.express.succeeded.inc(lane, 1000);
    // Within the spacing: no new sample, so the new tasks are not seen yet, and the figures stay (base t0 + 30 s).
    expect((await window.figures(t0 + 90_500)).get('hash\u0000standard')?.throughputPerMin).toBe(60);
    // The next sample sees them: 1060 since the base, 61 s ago.
    expect((await window.figures(t0 + 91_000)).get('hash\u0000standard')?.throughputPerMin).toBe(
      Math.round((1060 / 61) * 60),
    );
  });
});

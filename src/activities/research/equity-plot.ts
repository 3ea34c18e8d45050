/**
 * The backtest report's picture: its equity curve against buy and hold over the same held-out bars, as an SVG
 * document (no dependency: two polylines, axes and labels are a few lines of markup, and SVG opens in any browser).
 * `readBacktestReport` fetches and checks a saga's report; `renderEquityCurveSvg` draws one.
 */
import type { RedisClient } from '../../core';
import { z } from 'zod';
import { ArtifactStore } from './artifact-store';
import { InvalidAgentInputError } from './errors';

const point = z.object({ date: z.string(), equity: z.number(), buyAndHold: z.number() });

/** The parts of a backtest report artifact the picture needs (the report has more). */
export const backtestReportSchema = z
  .object({
    family: z.string(),
    dataset: z.string(),
    params: z.record(z.string(), z.number()),
    metrics: z
      .object({ totalReturn: z.number(), sharpe: z.number(), buyAndHoldReturn: z.number() })
      .passthrough(),
    equityCurve: z.array(point).min(2, 'an equity curve needs at least 2 points'),
    dataNote: z.string().optional(),
  })
  .passthrough();
export type BacktestReport = z.infer<typeof backtestReportSchema>;

/** The saga's backtest report; `ArtifactMissingError` when there is none, `InvalidInput` when it has no curve. */
export async function readBacktestReport(
  deps: { redis: RedisClient; keyPrefix: string },
  sagaId: string,
): Promise<BacktestReport> {
  const stored = await new ArtifactStore(deps.redis, deps.keyPrefix).require(sagaId, 'backtest', 'the plot');
  let body: unknown;
  try {
    body = JSON.parse(stored.body);
  } catch {
    body = undefined;
  }
  const parsed = backtestReportSchema.safeParse(body);
  if (!parsed.success) {
    throw new InvalidAgentInputError(
      `the backtest report of saga ${sagaId} has no equity curve to plot (made before reports carried one?): ` +
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    );
  }
  return parsed.data;
}

export interface PlotOptions {
  /** @defaultValue 900 */
  width?: number;
  /** @defaultValue 420 */
  height?: number;
}

const escape = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** An SVG document: strategy equity (blue) and buy and hold (grey), both starting at 1, on a shared scale. */
export function renderEquityCurveSvg(report: BacktestReport, options: PlotOptions = {}): string {
  const width = options.width ?? 900;
  const height = options.height ?? 420;
  const margin = { left: 64, right: 24, top: 56, bottom: 44 };
  const curve = report.equityCurve;
  const values = curve.flatMap((p) => [p.equity, p.buyAndHold]);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.01, hi + 0.01];
  const x = (i: number) => margin.left + (i / (curve.length - 1)) * (width - margin.left - margin.right);
  const y = (v: number) => margin.top + ((hi - v) / (hi - lo)) * (height - margin.top - margin.bottom);
  const line = (pick: (p: (typeof curve)[number]) => number) =>
    curve.map((p, i) => `${x(i).toFixed(1)},${y(pick(p)).toFixed(1)}`).join(' ');
  const ticks = Array.from({ length: 5 }, (_, i) => lo + ((hi - lo) * i) / 4);
  const params = Object.entries(report.params)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const m = report.metrics;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
  <title>${escape(`${report.family} on ${report.dataset}: equity vs buy and hold`)}</title>
  <rect width="100%" height="100%" fill="white"/>
  <text x="${margin.left}" y="20" font-size="14" font-weight="bold">${escape(`${report.family} on ${report.dataset} (${params})`)}</text>
  <text x="${margin.left}" y="38" fill="#444">${escape(
    `held-out ${curve[0]!.date} to ${curve[curve.length - 1]!.date}: return ${pct(m.totalReturn)}, Sharpe ${m.sharpe.toFixed(2)}; buy and hold ${pct(m.buyAndHoldReturn)}` +
      (report.dataNote ? ' (synthetic data)' : ''),
  )}</text>
${ticks
  .map(
    (t) =>
      `  <line x1="${margin.left}" x2="${width - margin.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>\n` +
      `  <text x="${margin.left - 8}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" fill="#444">${t.toFixed(2)}</text>`,
  )
  .join('\n')}
  <text x="${margin.left}" y="${height - margin.bottom + 18}" fill="#444">${escape(curve[0]!.date)}</text>
  <text x="${width - margin.right}" y="${height - margin.bottom + 18}" text-anchor="end" fill="#444">${escape(curve[curve.length - 1]!.date)}</text>
  <polyline data-series="buyAndHold" fill="none" stroke="#999" stroke-width="1.5" points="${line((p) => p.buyAndHold)}"/>
  <polyline data-series="equity" fill="none" stroke="#1f5fbf" stroke-width="2" points="${line((p) => p.equity)}"/>
  <g transform="translate(${width - margin.right - 200}, ${height - 14})">
    <line x1="0" x2="18" y1="-4" y2="-4" stroke="#1f5fbf" stroke-width="2"/><text x="24" y="0">strategy</text>
    <line x1="96" x2="114" y1="-4" y2="-4" stroke="#999" stroke-width="1.5"/><text x="120" y="0">buy and hold</text>
  </g>
</svg>
`;
}

/**
 * A line chart as SVG text (no image library): series over a shared x axis, a left axis for most series and an
 * optional right axis for one of another unit. Used by bench:soak to draw memory over time into docs/.
 */

export interface PlotSeries {
  label: string;
  color: string;
  points: { x: number; y: number }[];
  /** Plot against the right axis. */
  right?: boolean;
  dashed?: boolean;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  rightLabel?: string;
  series: PlotSeries[];
  /** Shaded x range (e.g. the window a growth figure is measured over) with its caption. */
  band?: { from: number; to: number; label: string };
  width?: number;
  height?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Round tick values: 1, 2 or 5 times a power of ten, about `count` of them from 0 to `max`. */
function ticks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 0.001; v += step) out.push(Number(v.toPrecision(12)));
  if (out.at(-1)! < max) out.push(Number((out.at(-1)! + step).toPrecision(12)));
  return out;
}

export function lineChartSvg(opts: PlotOptions): string {
  const width = opts.width ?? 900;
  const height = opts.height ?? 420;
  const m = { left: 70, right: opts.rightLabel ? 70 : 20, top: 40, bottom: 80 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const all = opts.series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map((p) => p.x));
  const leftTicks = ticks(
    Math.max(1, ...opts.series.filter((s) => !s.right).flatMap((s) => s.points.map((p) => p.y))),
  );
  const rightTicks = ticks(
    Math.max(1, ...opts.series.filter((s) => s.right).flatMap((s) => s.points.map((p) => p.y))),
  );
  const xTicks = ticks(xMax, 8);
  const xs = (x: number) => m.left + (x / xTicks.at(-1)!) * plotW;
  const yl = (y: number) => m.top + plotH - (y / leftTicks.at(-1)!) * plotH;
  const yr = (y: number) => m.top + plotH - (y / rightTicks.at(-1)!) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(opts.title)}</text>`,
  );
  if (opts.band) {
    const x1 = xs(opts.band.from);
    const x2 = xs(opts.band.to);
    parts.push(
      `<rect x="${x1.toFixed(1)}" y="${m.top}" width="${(x2 - x1).toFixed(1)}" height="${plotH}" fill="#f3efe0"/>`,
      `<text x="${((x1 + x2) / 2).toFixed(1)}" y="${m.top + 14}" text-anchor="middle" fill="#7a6a2a">${esc(opts.band.label)}</text>`,
    );
  }
  for (const t of leftTicks) {
    const y = yl(t).toFixed(1);
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`,
      `<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${t}</text>`,
    );
  }
  if (opts.rightLabel) {
    for (const t of rightTicks) {
      parts.push(
        `<text x="${m.left + plotW + 6}" y="${yr(t).toFixed(1)}" dominant-baseline="middle" fill="#666">${t}</text>`,
      );
    }
    parts.push(
      `<text transform="translate(${width - 18},${m.top + plotH / 2}) rotate(90)" text-anchor="middle" fill="#666">${esc(opts.rightLabel)}</text>`,
    );
  }
  for (const t of xTicks) {
    const x = xs(t).toFixed(1);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${m.top + plotH}" y2="${m.top + plotH + 4}" stroke="#333"/>`,
      `<text x="${x}" y="${m.top + plotH + 18}" text-anchor="middle">${t}</text>`,
    );
  }
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${m.left + plotW / 2}" y="${m.top + plotH + 36}" text-anchor="middle">${esc(opts.xLabel)}</text>`,
    `<text transform="translate(18,${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`,
  );
  for (const s of opts.series) {
    const y = s.right ? yr : yl;
    const d = s.points
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${xs(p.x).toFixed(1)},${y(p.y).toFixed(1)}`)
      .join('');
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
  }
  opts.series.forEach((s, i) => {
    const x = m.left + (i % 4) * (plotW / 4);
    const yy = m.top + plotH + 54 + Math.floor(i / 4) * 16;
    parts.push(
      `<line x1="${x}" x2="${x + 22}" y1="${yy}" y2="${yy}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
      `<text x="${x + 28}" y="${yy}" dominant-baseline="middle">${esc(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

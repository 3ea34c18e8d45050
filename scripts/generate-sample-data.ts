/**
 * Generates the synthetic sample data sets in data/ (daily OHLCV bars). Fixed seeds: running it again rewrites
 * byte-identical files, and a test checks the committed files match.
 *
 *   npx tsx scripts/generate-sample-data.ts [outDir]
 *
 * Each set strings together regimes so the strategy families behave differently: geometric Brownian motion with a
 * drift (trends, where crossovers and momentum earn) and an Ornstein-Uhlenbeck pull towards a level in log price
 * (ranges, where mean reversion earns).
 */
import fs from 'node:fs';
import path from 'node:path';

type Regime =
  | { kind: 'trend'; days: number; drift: number; vol: number }
  | { kind: 'range'; days: number; level: number; pull: number; vol: number };

export interface SampleSpec {
  symbol: string;
  seed: number;
  start: number;
  regimes: Regime[];
  description: string;
}

export const SAMPLE_SETS: SampleSpec[] = [
  {
    symbol: 'DEMO',
    seed: 20240101,
    start: 100,
    description: 'mixed: an up-trend, a sideways range, a down-trend and a recovery',
    regimes: [
      { kind: 'trend', days: 300, drift: 0.0009, vol: 0.012 },
      { kind: 'range', days: 250, level: 130, pull: 0.08, vol: 0.012 },
      { kind: 'trend', days: 200, drift: -0.0012, vol: 0.016 },
      { kind: 'trend', days: 250, drift: 0.001, vol: 0.011 },
    ],
  },
  {
    symbol: 'TREND',
    seed: 7,
    start: 50,
    description: 'long persistent trends with low noise (crossover / momentum / breakout territory)',
    regimes: [
      { kind: 'trend', days: 350, drift: 0.0016, vol: 0.009 },
      { kind: 'trend', days: 250, drift: -0.0014, vol: 0.01 },
      { kind: 'trend', days: 400, drift: 0.0015, vol: 0.009 },
    ],
  },
  {
    symbol: 'MEANREV',
    seed: 42,
    start: 80,
    description: 'a noisy range pulled back towards 80 (mean-reversion territory)',
    regimes: [{ kind: 'range', days: 1000, level: 80, pull: 0.12, vol: 0.014 }],
  },
];

/** mulberry32: tiny, fast, and the same on every platform. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(uniform: () => number): () => number {
  return () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** Business days (Mon-Fri) from 2020-01-02, as YYYY-MM-DD. */
function businessDays(count: number): string[] {
  const out: string[] = [];
  for (let t = Date.UTC(2020, 0, 2); out.length < count; t += 86_400_000) {
    const day = new Date(t).getUTCDay();
    if (day !== 0 && day !== 6) out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/** The CSV text of one sample set. */
export function generateSampleCsv(spec: SampleSpec): string {
  const z = normal(rng(spec.seed));
  const total = spec.regimes.reduce((n, r) => n + r.days, 0);
  const dates = businessDays(total);
  const lines = ['date,open,high,low,close,volume'];
  let logPrice = Math.log(spec.start);
  let previousClose = round4(spec.start);
  let day = 0;
  for (const regime of spec.regimes) {
    for (let i = 0; i < regime.days; i++, day++) {
      const shock = regime.vol * z();
      logPrice +=
        regime.kind === 'trend'
          ? regime.drift - 0.5 * regime.vol ** 2 + shock
          : regime.pull * (Math.log(regime.level) - logPrice) + shock;
      const close = round4(Math.exp(logPrice));
      const open = round4(previousClose * Math.exp(0.25 * regime.vol * z()));
      const high = round4(Math.max(open, close) * Math.exp(Math.abs(0.5 * regime.vol * z())));
      const low = round4(Math.min(open, close) * Math.exp(-Math.abs(0.5 * regime.vol * z())));
      const volume = Math.round(1_000_000 * Math.exp(0.3 * z() + 20 * Math.abs(shock)));
      lines.push(`${dates[day]},${open},${high},${low},${close},${volume}`);
      previousClose = close;
    }
  }
  return lines.join('\n') + '\n';
}

if (require.main === module) {
  const outDir = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'data'));
  fs.mkdirSync(outDir, { recursive: true });
  for (const spec of SAMPLE_SETS) {
    const file = path.join(outDir, `${spec.symbol}.csv`);
    fs.writeFileSync(file, generateSampleCsv(spec));
    process.stdout.write(
      `wrote ${file} (${spec.regimes.reduce((n, r) => n + r.days, 0)} bars: ${spec.description})\n`,
    );
  }
}

/**
 * OHLCV market data: finding a data set by name or path (never outside the allowed directories) and loading its
 * CSV with validation that names the file and row of the first problem.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { DatasetAccessError, DatasetNotFoundError, MarketDataError } from './errors';

/** One daily bar. `date` is `YYYY-MM-DD` (or any ISO date) as written in the file. */
export interface Bar {
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface MarketData {
  /** Data set name (file name without `.csv`). */
  name: string;
  file: string;
  bars: Bar[];
}

export const REQUIRED_COLUMNS = ['date', 'open', 'high', 'low', 'close', 'volume'] as const;
const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export interface DatasetLocation {
  /** Directory of named data sets (`<name>.csv`). */
  dataDir: string;
  /** Further directories a data set given as a path may live in. @defaultValue `[]` (only `dataDir`) */
  allowedDirs?: string[];
}

/**
 * Turns a data set reference into a file path. A bare name (`DEMO`, `demo`, `DEMO.csv`) is looked up in `dataDir`;
 * anything with a slash is a path that must resolve (after symlinks) inside `dataDir` or one of `allowedDirs`.
 */
export async function resolveDataset(reference: string, location: DatasetLocation): Promise<string> {
  const ref = reference.trim();
  const roots = [location.dataDir, ...(location.allowedDirs ?? [])].map((d) => path.resolve(d));
  if (!ref.includes('/') && !ref.includes('\\')) {
    if (!DATASET_NAME.test(ref) || ref.includes('..')) {
      throw new DatasetNotFoundError(
        `unknown data set '${reference}': names are letters, digits, dot, dash or underscore`,
        { dataset: reference },
      );
    }
    const base = ref.toLowerCase().endsWith('.csv') ? ref.slice(0, -4) : ref;
    for (const candidate of [base, base.toUpperCase()]) {
      const file = path.join(path.resolve(location.dataDir), `${candidate}.csv`);
      if (await isFile(file)) return file;
    }
    const available = await listDatasets(location.dataDir);
    throw new DatasetNotFoundError(
      `unknown data set '${reference}': no ${base}.csv in ${location.dataDir}` +
        (available.length ? ` (available: ${available.join(', ')})` : ''),
      { dataset: reference, dataDir: location.dataDir, available },
    );
  }
  const resolved = path.resolve(location.dataDir, ref);
  let real: string;
  try {
    real = await fs.realpath(resolved);
  } catch {
    if (!roots.some((root) => isInside(resolved, root))) throw outside(reference, roots);
    throw new DatasetNotFoundError(`unknown data set '${reference}': ${resolved} does not exist`, {
      dataset: reference,
    });
  }
  const realRoots = await Promise.all(roots.map((r) => fs.realpath(r).catch(() => r)));
  if (!realRoots.some((root) => isInside(real, root))) throw outside(reference, roots);
  if (!(await isFile(real))) {
    throw new DatasetNotFoundError(`unknown data set '${reference}': ${real} is not a file`, {
      dataset: reference,
    });
  }
  return real;
}

/** Names of the data sets in `dataDir` (sorted, without `.csv`). */
export async function listDatasets(dataDir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dataDir);
    return entries
      .filter((f) => f.toLowerCase().endsWith('.csv'))
      .map((f) => f.slice(0, -4))
      .sort();
  } catch {
    return [];
  }
}

function outside(reference: string, roots: string[]): DatasetAccessError {
  return new DatasetAccessError(
    `data set path '${reference}' is outside the allowed directories (${roots.join(', ')}); ` +
      'copy the file into the data directory or pass its name',
    { dataset: reference, allowedDirs: roots },
  );
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Reads and validates an OHLCV CSV file. */
export async function loadMarketData(file: string): Promise<MarketData> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new DatasetNotFoundError(`cannot read data set ${file}: ${(err as Error).message}`, { file });
  }
  return {
    name: path.basename(file).replace(/\.csv$/i, ''),
    file,
    bars: parseOhlcvCsv(text, path.basename(file)),
  };
}

/**
 * Parses `date,open,high,low,close,volume` (header required, any column order, extra columns ignored, no quoted
 * fields). Rows must be in strictly increasing date order with positive prices and `low ≤ open, close ≤ high`.
 * Errors say `<file> row <n>` where n is the line number in the file (the header is line 1).
 */
export function parseOhlcvCsv(text: string, fileLabel: string): Bar[] {
  const lines = text.split(/\r?\n/);
  const fail = (line: number, msg: string): never => {
    throw new MarketDataError(`${fileLabel} row ${line}: ${msg}`, { file: fileLabel, row: line });
  };
  const header = (lines[0] ?? '').replace(/^\uFEFF/, '');
  const columns = header.split(',').map((c) => c.trim().toLowerCase());
  const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length) {
    fail(1, `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header is "${header}")`);
  }
  const index = Object.fromEntries(REQUIRED_COLUMNS.map((c) => [c, columns.indexOf(c)])) as Record<
    (typeof REQUIRED_COLUMNS)[number],
    number
  >;
  const bars: Bar[] = [];
  let previousTime = -Infinity;
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const lineNo = i + 1;
    const cells = raw.split(',').map((c) => c.trim());
    if (cells.length < columns.length)
      fail(lineNo, `expected ${columns.length} fields, found ${cells.length}`);
    const date = cells[index.date]!;
    const time = Date.parse(date);
    if (!/^\d{4}-\d{2}-\d{2}/.test(date) || Number.isNaN(time))
      fail(lineNo, `date '${date}' is not YYYY-MM-DD`);
    if (time <= previousTime)
      fail(lineNo, `date ${date} is not after the previous row's date (rows must be in order)`);
    previousTime = time;
    const num = (column: 'open' | 'high' | 'low' | 'close' | 'volume'): number => {
      const cell = cells[index[column]]!;
      const value = cell === '' ? NaN : Number(cell);
      if (!Number.isFinite(value)) fail(lineNo, `${column} '${cell}' is not a number`);
      if (column === 'volume' ? value < 0 : value <= 0) fail(lineNo, `${column} ${cell} must be positive`);
      return value;
    };
    const bar: Bar = {
      date,
      open: num('open'),
      high: num('high'),
      low: num('low'),
      close: num('close'),
      volume: num('volume'),
    };
    if (bar.low > Math.min(bar.open, bar.close) || bar.high < Math.max(bar.open, bar.close)) {
      fail(
        lineNo,
        `low ${bar.low} / high ${bar.high} do not bracket open ${bar.open} and close ${bar.close}`,
      );
    }
    bars.push(bar);
  }
  if (bars.length === 0) fail(2, 'no data rows after the header');
  return bars;
}

/** Loading and finding OHLCV data: clear, non-retryable errors naming the file and row; no path traversal. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DatasetAccessError,
  DatasetNotFoundError,
  MarketDataError,
} from '../../src/activities/research/errors';
import {
  listDatasets,
  loadMarketData,
  MarketDataCache,
  parseOhlcvCsv,
  resolveDataset,
} from '../../src/activities/research/market-data';
import { generateSampleCsv, SAMPLE_SETS } from '../../scripts/generate-sample-data';

const DATA_DIR = path.resolve(__dirname, '..', '..', 'data');
const HEADER = 'date,open,high,low,close,volume';

function parseError(csv: string): MarketDataError {
  try {
    parseOhlcvCsv(csv, 'bad.csv');
  } catch (err) {
    expect(err).toBeInstanceOf(MarketDataError);
    expect((err as MarketDataError).retryable).toBe(false);
    return err as MarketDataError;
  }
  throw new Error('expected a MarketDataError');
}

describe('OHLCV CSV parsing', () => {
  it('parses valid rows, in any column order, ignoring extra columns and blank lines', () => {
    const bars = parseOhlcvCsv(
      'Close,date,open,high,low,volume,note\n10,2024-01-02,9,11,8,100,x\n\n12,2024-01-03,10,12.5,9.5,0,y\n',
      'ok.csv',
    );
    expect(bars).toEqual([
      { date: '2024-01-02', open: 9, high: 11, low: 8, close: 10, volume: 100 },
      { date: '2024-01-03', open: 10, high: 12.5, low: 9.5, close: 12, volume: 0 },
    ]);
  });

  it.each([
    [
      'a missing column',
      'date,open,high,low,volume\n2024-01-02,1,2,1,5',
      /bad.csv row 1: missing column close/,
    ],
    [
      'an unparsable number',
      `${HEADER}\n2024-01-02,1,2,1,1.5,5\n2024-01-03,1,2,1,abc,5`,
      /bad.csv row 3: close 'abc' is not a number/,
    ],
    ['an empty cell', `${HEADER}\n2024-01-02,1,2,,1.5,5`, /bad.csv row 2: low '' is not a number/],
    ['a short row', `${HEADER}\n2024-01-02,1,2,1`, /bad.csv row 2: expected 6 fields, found 4/],
    [
      'an ambiguous slash date',
      `${HEADER}\n02/01/2024,1,2,1,1.5,5`,
      /bad.csv row 2: date '02\/01\/2024' is ambiguous: .*write dates as YYYY-MM-DD/,
    ],
    [
      'a date that does not exist',
      `${HEADER}\n2024-01-02,1,2,1,1.5,5\n2024-02-30,1,2,1,1.5,5`,
      /bad.csv row 3: date '2024-02-30' is not a date \(formats read: YYYY-MM-DD/,
    ],
    ['words for a date', `${HEADER}\nyesterday,1,2,1,1.5,5`, /row 2: date 'yesterday' is not a date/],
    [
      'dates out of order',
      `${HEADER}\n2024-01-02,1,2,1,1.5,5\n2024-01-04,1,2,1,1.5,5\n2024-01-03,1,2,1,1.5,5`,
      /bad.csv row 4: date 2024-01-03 is not after the previous row's date 2024-01-04/,
    ],
    [
      'newest-first dates out of order',
      `${HEADER}\n2024-01-05,1,2,1,1.5,5\n2024-01-04,1,2,1,1.5,5\n2024-01-06,1,2,1,1.5,5`,
      /bad.csv row 4: date 2024-01-06 is not before the previous row's date 2024-01-04/,
    ],
    ['a repeated date', `${HEADER}\n2024-01-03,1,2,1,1.5,5\n2024-01-03,1,2,1,1.5,5`, /row 3: .*not after/],
    ['a non-positive price', `${HEADER}\n2024-01-02,1,2,1,0,5`, /bad.csv row 2: close 0 must be positive/],
    [
      'high below close',
      `${HEADER}\n2024-01-02,1,1.2,1,1.5,5`,
      /bad.csv row 2: low 1 \/ high 1.2 do not bracket/,
    ],
    ['no rows', `${HEADER}\n`, /no data rows/],
  ])('rejects %s with the file and row', (_name, csv, message) => {
    expect(parseError(csv).message).toMatch(message);
  });

  const expected = [
    { date: '2024-01-31', open: 9, high: 11, low: 8, close: 10, volume: 100 },
    { date: '2024-02-01', open: 10, high: 12.5, low: 9.5, close: 12, volume: 0 },
    { date: '2024-02-05', open: 11, high: 13, low: 10, close: 12.5, volume: 7 },
  ];
  it.each([
    ['ISO dates with times', ['2024-01-31T00:00:00Z', '2024-02-01 16:00', '2024-02-05T00:00:00.000Z']],
    ['YYYY/MM/DD', ['2024/01/31', '2024/02/01', '2024/02/05']],
    ['YYYYMMDD', ['20240131', '20240201', '20240205']],
    ['DD.MM.YYYY', ['31.01.2024', '01.02.2024', '05.02.2024']],
    ['MM/DD/YYYY (a day above 12 decides)', ['01/31/2024', '02/01/2024', '02/05/2024']],
    ['DD/MM/YYYY (a day above 12 decides)', ['31/01/2024', '01/02/2024', '05/02/2024']],
    ['31 Jan 2024', ['31 Jan 2024', '1 Feb 2024', '5 February 2024']],
    ['31-Jan-2024', ['31-Jan-2024', '01-Feb-2024', '05-Feb-2024']],
    ['Jan 31, 2024', ['Jan 31, 2024', 'Feb 1, 2024', 'Feb 5, 2024']],
  ])('reads dates written as %s, with missing days between rows', (_name, dates) => {
    const rows = [
      [dates[0], 9, 11, 8, 10, 100],
      [dates[1], 10, 12.5, 9.5, 12, 0],
      [dates[2], 11, 13, 10, 12.5, 7],
    ];
    const csv = `Date,Open,High,Low,Close,Volume\n${rows.map((r) => r.join(',')).join('\n')}`;
    // Commas inside "Jan 31, 2024" need quoting in a CSV; the semicolon variant needs none.
    const quoted = `Date;Open;High;Low;Close;Volume\n${rows.map((r) => r.join(';')).join('\n')}`;
    expect(parseOhlcvCsv(dates[0]!.includes(',') ? quoted : csv, 'dates.csv')).toEqual(expected);
  });

  it('reads a vendor export: quoted cells, another column order, Adj Close ignored, newest first, no volume', () => {
    const csv =
      '"Close/Last","Adj Close","High","Low","Open","Date"\n' +
      '"12.5","12.4","13","10","11","02/05/2024"\n' +
      '"12","11.9","12.5","9.5","10","02/01/2024"\n' +
      '"10","9.9","11","8","9","01/31/2024"\n';
    expect(parseOhlcvCsv(csv, 'vendor.csv')).toEqual(expected.map((b) => ({ ...b, volume: 0 })));
  });
});

describe('data set resolution', () => {
  let outside: string;
  let extra: string;
  beforeAll(() => {
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-outside-'));
    extra = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-extra-'));
    fs.writeFileSync(path.join(outside, 'SECRET.csv'), `${HEADER}\n2024-01-02,1,2,1,1.5,5\n`);
    fs.writeFileSync(path.join(extra, 'MINE.csv'), `${HEADER}\n2024-01-02,1,2,1,1.5,5\n`);
  });
  afterAll(() => {
    fs.rmSync(outside, { recursive: true, force: true });
    fs.rmSync(extra, { recursive: true, force: true });
  });

  it('finds sample sets by name, case-insensitively, with or without .csv', async () => {
    expect(await resolveDataset('DEMO', { dataDir: DATA_DIR })).toBe(path.join(DATA_DIR, 'DEMO.csv'));
    expect(await resolveDataset('demo', { dataDir: DATA_DIR })).toBe(path.join(DATA_DIR, 'DEMO.csv'));
    expect(await resolveDataset('TREND.csv', { dataDir: DATA_DIR })).toBe(path.join(DATA_DIR, 'TREND.csv'));
    expect(await listDatasets(DATA_DIR)).toEqual(['DEMO', 'MEANREV', 'TREND']);
  });

  it('an unknown data set is a DatasetNotFoundError naming it and listing what exists', async () => {
    const err = await resolveDataset('NOPE', { dataDir: DATA_DIR }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetNotFoundError);
    expect((err as Error).message).toMatch(/unknown data set 'NOPE'.*available: DEMO, MEANREV, TREND/);
    expect((err as DatasetNotFoundError).retryable).toBe(false);
  });

  it('refuses paths outside the data directory and allowed directories', async () => {
    for (const ref of [
      '../package.json',
      '../../etc/passwd',
      path.join(outside, 'SECRET.csv'),
      'sub/../../x.csv',
    ]) {
      await expect(resolveDataset(ref, { dataDir: DATA_DIR })).rejects.toThrow(DatasetAccessError);
    }
    await expect(resolveDataset('..', { dataDir: DATA_DIR })).rejects.toThrow(DatasetNotFoundError);
    // A symlink in an allowed directory pointing outside it is refused too (checked after resolving links).
    const link = path.join(extra, 'link.csv');
    fs.symlinkSync(path.join(outside, 'SECRET.csv'), link);
    await expect(resolveDataset(link, { dataDir: DATA_DIR, allowedDirs: [extra] })).rejects.toThrow(
      /outside the allowed directories/,
    );
  });

  it('accepts a path inside an allowed directory', async () => {
    const file = path.join(extra, 'MINE.csv');
    expect(await resolveDataset(file, { dataDir: DATA_DIR, allowedDirs: [extra] })).toBe(
      fs.realpathSync(file),
    );
    await expect(
      resolveDataset(path.join(extra, 'GONE.csv'), { dataDir: DATA_DIR, allowedDirs: [extra] }),
    ).rejects.toThrow(DatasetNotFoundError);
  });
});

describe('sample data sets', () => {
  it('are exactly what the committed generator produces', () => {
    for (const spec of SAMPLE_SETS) {
      const committed = fs.readFileSync(path.join(DATA_DIR, `${spec.symbol}.csv`), 'utf8');
      expect(committed === generateSampleCsv(spec)).toBe(true);
    }
  });

  it('load cleanly with 750-1500 bars each', async () => {
    for (const name of ['DEMO', 'TREND', 'MEANREV']) {
      const data = await loadMarketData(path.join(DATA_DIR, `${name}.csv`));
      expect(data.name).toBe(name);
      expect(data.bars.length).toBeGreaterThanOrEqual(750);
      expect(data.bars.length).toBeLessThanOrEqual(1500);
    }
  });
});

describe('MarketDataCache', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-mdcache-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const csv = (closes: number[]) =>
    [HEADER, ...closes.map((c, i) => `2024-01-${String(i + 1).padStart(2, '0')},${c},${c},${c},${c},1`)].join(
      '\n',
    );

  it('parses a file once and hands every caller the same frozen bars, equal to a fresh load', async () => {
    const cache = new MarketDataCache();
    const file = path.join(DATA_DIR, 'DEMO.csv');
    const first = await cache.load(file);
    const second = await cache.load(file);
    expect(second.bars).toBe(first.bars);
    expect(first).toEqual(await loadMarketData(file));
    expect(Object.isFrozen(first.bars) && Object.isFrozen(first.bars[0])).toBe(true);
    expect(() => (first.bars as { close: number }[])[0]!.close++).toThrow(TypeError);
  });

  it('reads a file again once it changed, even to the same size', async () => {
    const cache = new MarketDataCache();
    const file = path.join(tmp, 'X.csv');
    fs.writeFileSync(file, csv([10, 11, 12]));
    expect((await cache.load(file)).bars.map((b) => b.close)).toEqual([10, 11, 12]);
    fs.writeFileSync(file, csv([10, 11, 13]));
    expect((await cache.load(file)).bars.map((b) => b.close)).toEqual([10, 11, 13]);
    fs.writeFileSync(file, csv([10, 11, 13, 14]));
    expect((await cache.load(file)).bars.map((b) => b.close)).toEqual([10, 11, 13, 14]);
  });

  it('keeps at most maxEntries files, and no failed parse', async () => {
    const cache = new MarketDataCache(2);
    for (const name of ['A', 'B', 'C']) {
      fs.writeFileSync(path.join(tmp, `${name}.csv`), csv([1, 2]));
      await cache.load(path.join(tmp, `${name}.csv`));
    }
    expect(cache.size).toBe(2);
    const bad = path.join(tmp, 'BAD.csv');
    fs.writeFileSync(bad, 'date,close\n2024-01-01,1');
    await expect(cache.load(bad)).rejects.toThrow(MarketDataError);
    // B made room for BAD (least recently used), and BAD's failed parse is not kept.
    expect(cache.size).toBe(1);
    fs.writeFileSync(bad, csv([5, 6]));
    expect((await cache.load(bad)).bars).toHaveLength(2);
    await expect(cache.load(path.join(tmp, 'GONE.csv'))).rejects.toThrow(DatasetNotFoundError);
  });
});

/** Tables for the console and for Markdown from the same rows. */

export type Row = Record<string, string>;

export function markdownTable(rows: Row[], columns: string[] = Object.keys(rows[0] ?? {})): string {
  const head = `| ${columns.join(' | ')} |`;
  const rule = `| ${columns.map((c) => (c === columns[0] ? '---' : '---:')).join(' | ')} |`;
  const body = rows.map((r) => `| ${columns.map((c) => r[c] ?? '').join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}

export function consoleTable(rows: Row[], columns: string[] = Object.keys(rows[0] ?? {})): string {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [
    line(columns),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(columns.map((c) => r[c] ?? ''))),
  ].join('\n');
}

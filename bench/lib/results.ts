/**
 * Where benchmark figures go: a JSON file per run under bench/results/, and the run's own section of
 * docs/BENCHMARKS.md (between `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->`), rewritten in place so
 * the hand-written analysis around it stays.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadAverage, machineMarkdown, type MachineDescription } from './machine';

const ROOT = path.resolve(__dirname, '..', '..');
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
export const DOC_PATH = path.join(ROOT, 'docs', 'BENCHMARKS.md');

export interface BenchReport {
  /** `express`, `saga` or `soak`: names the JSON file and the doc section. */
  name: string;
  /** The exact command that produced the figures. */
  command: string;
  machine: MachineDescription;
  startedAt: Date;
  /** Markdown put inside the doc section, after the run header. */
  markdown: string;
  /** Everything measured, for the JSON file. */
  data: unknown;
}

export class BenchReportError extends Error {
  override readonly name = 'BenchReportError';
}

/** Writes the JSON file and rewrites the doc section; returns the JSON file's path. */
export function writeReport(report: BenchReport): string {
  report.machine.loadAtEnd ??= loadAverage();
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = report.startedAt.toISOString().replace(/[:.]/g, '-');
  const file = path.join(RESULTS_DIR, `${report.name}-${stamp}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        name: report.name,
        command: report.command,
        startedAt: report.startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        machine: report.machine,
        data: report.data,
      },
      null,
      2,
    ) + '\n',
  );
  const section = [
    `_Measured ${report.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC with \`${report.command}\`; ` +
      `raw figures in \`${path.relative(ROOT, file)}\`._`,
    '',
    machineMarkdown(report.machine),
    '',
    report.markdown.trim(),
  ].join('\n');
  replaceDocSection(report.name, section);
  return file;
}

export function replaceDocSection(name: string, body: string, docPath = DOC_PATH): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const doc = fs.existsSync(docPath) ? fs.readFileSync(docPath, 'utf8') : '# Benchmarks\n';
  const block = `${start}\n${body}\n${end}`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from >= 0 && to < from)
    throw new BenchReportError(`${docPath}: "${start}" has no matching "${end}" after it; fix the markers`);
  const next =
    from >= 0 ? doc.slice(0, from) + block + doc.slice(to + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  fs.mkdirSync(path.dirname(docPath), { recursive: true });
  fs.writeFileSync(docPath, next);
  formatDoc(docPath);
}

/**
 * Formats the rewritten doc with the repository's prettier settings, so a bench run leaves a file that passes
 * `npm run lint` (the generated tables are not column-aligned otherwise).
 */
function formatDoc(docPath: string): void {
  try {
    execFileSync(process.execPath, [require.resolve('prettier/bin/prettier.cjs'), '--write', docPath], {
      cwd: ROOT,
      stdio: 'ignore',
    });
  } catch (err) {
    process.stderr.write(`[bench] prettier could not format ${docPath}: ${(err as Error).message}\n`);
  }
}

/** Turns `process.argv` back into the command a reader can paste. */
export function commandLine(npmScript: string): string {
  const extra = process.argv.slice(2);
  return `npm run ${npmScript}${extra.length ? ` -- ${extra.join(' ')}` : ''}`;
}

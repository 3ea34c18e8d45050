/**
 * The benchmarks rewrite their own section of docs/BENCHMARKS.md: the section is replaced in place (the analysis
 * around it stays) and the file comes out prettier-formatted, so a bench run does not leave `npm run lint` red.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { replaceDocSection } from '../../bench/lib/results';

describe('bench results in docs/BENCHMARKS.md', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-bench-doc-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('replaces only its own section and leaves the file formatted', () => {
    const doc = path.join(dir, 'BENCHMARKS.md');
    fs.writeFileSync(
      doc,
      '# Benchmarks\n\nHand-written analysis.\n\n<!-- bench:x:start -->\nold\n<!-- bench:x:end -->\n\nMore.\n',
    );
    replaceDocSection('x', '| measure | ms |\n|---|---|\n| p50 | 7.5 |', doc);
    const text = fs.readFileSync(doc, 'utf8');
    expect(text).not.toContain('old');
    expect(text).toContain('Hand-written analysis.');
    expect(text).toContain('More.');
    // prettier pads table cells to the column width.
    expect(text).toContain('| measure | ms  |');
    expect(text).toContain('| p50     | 7.5 |');
  });
});

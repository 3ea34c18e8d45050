/**
 * bin/sagalane.js, the command `npx sagalane` runs: the compiled CLI when dist/ is built and not older than src/,
 * otherwise the TypeScript sources through tsx. Checked in a scratch copy of the layout (bin/ copied, src/ and
 * node_modules/ linked), so the repository's own dist/ (the package test builds it) is never involved.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './front-kit';

const run = promisify(execFile);
jest.setTimeout(60_000);

describe('bin/sagalane.js', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-launcher-'));
  const launcher = path.join(dir, 'bin', 'sagalane.js');
  const builtCli = path.join(dir, 'dist', 'cli', 'index.js');

  beforeAll(() => {
    fs.mkdirSync(path.dirname(launcher), { recursive: true });
    fs.copyFileSync(path.join(repoRoot, 'bin', 'sagalane.js'), launcher);
    fs.symlinkSync(path.join(repoRoot, 'src'), path.join(dir, 'src'));
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const sagalane = (...args: string[]) => run(process.execPath, [launcher, ...args], { cwd: dir });

  it('runs the TypeScript sources when there is no dist/', async () => {
    const { stdout } = await sagalane('--help');
    expect(stdout).toContain('Usage: sagalane');
    expect(stdout).toContain('pipeline');
  });

  it('runs dist/ when it is newer than every source file, and the sources again when a build is stale', async () => {
    fs.mkdirSync(path.dirname(builtCli), { recursive: true });
    fs.writeFileSync(
      builtCli,
      "exports.main = (argv) => process.stdout.write('built cli ' + JSON.stringify(argv.slice(2)));\n",
    );
    expect((await sagalane('lane', 'stats')).stdout).toBe('built cli ["lane","stats"]');

    const longAgo = new Date('2001-01-01T00:00:00Z');
    fs.utimesSync(builtCli, longAgo, longAgo);
    const { stdout } = await sagalane('--help');
    expect(stdout).toContain('Usage: sagalane');
  });

  it('passes the exit code through: an unknown command fails', async () => {
    await expect(sagalane('no-such-command')).rejects.toMatchObject({ code: 1 });
  });
});

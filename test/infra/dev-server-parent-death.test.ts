/**
 * A Temporal dev server started by sagalane (`sagalane dev`, the test suite, the benches) does not outlive the
 * process that started it, even when that process is killed with SIGKILL and cannot run its shutdown.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

/** Pids whose command line is a `temporal server start-dev` on `port`. */
function devServerPids(port: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const argv = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
        return argv.includes('start-dev') && argv[argv.indexOf('--port') + 1] === port;
      } catch {
        return false;
      }
    })
    .map(Number);
}

(process.platform === 'linux' ? describe : describe.skip)('dev server and its parent', () => {
  it('stops the dev server within seconds of a kill -9 of the process that started it', async () => {
    // Output to a file, as when `sagalane dev` runs in a terminal or under a supervisor (with a pipe to this test
    // process the server happens to die on its own, which would hide the bug).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-dev-parent-'));
    const logFile = path.join(dir, 'out.log');
    const fd = fs.openSync(logFile, 'a');
    const parent = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/dev-server-parent.ts'], {
      cwd: path.join(__dirname, '..', '..'),
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    try {
      // A parent that exited ends the wait at once: its log says why.
      const { address } = await waitFor(
        () => `the dev server address in the log: ${fs.readFileSync(logFile, 'utf8')}`,
        () => {
          if (parent.exitCode !== null) return { address: undefined };
          const found = /dev server (\S+)/.exec(fs.readFileSync(logFile, 'utf8'))?.[1];
          return found !== undefined && { address: found };
        },
        45_000,
      );
      if (!address) throw new Error(`dev-server-parent exited early: ${fs.readFileSync(logFile, 'utf8')}`);
      const pids = devServerPids(address.split(':').pop()!);
      expect(pids).toHaveLength(1);
      // Measured: in its first second or so the server still goes down with its parent (the SDK's start-up keeps a
      // handle on it); after that it is on its own, which is the state of a real `sagalane dev` run.
      await new Promise((r) => setTimeout(r, 3000));
      parent.kill('SIGKILL');
      await waitFor('the dev server to exit', () => !isAlive(pids[0]!), 10_000);
    } finally {
      parent.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

/**
 * `npm start` (= `sagalane dev`) as a user runs it: a real child process that brings up the Temporal dev server
 * with its UI, prints the endpoints, registers the saga search attributes, and leaves nothing behind on Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findTemporalCli } from '../src/dev/temporal-cli';
import { freePort } from './helpers/ports';

const root = path.resolve(__dirname, '..');

function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; output:\n${out}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}; output:\n${out}`));
    });
  });
}

const processesUsing = (needle: string) =>
  spawnSync('pgrep', ['-f', '--', needle], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);

describe('sagalane dev (npm start)', () => {
  let child: ChildProcess | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-dev-'));

  afterAll(() => {
    // tsx runs the CLI in a child process: signal the whole group, as a terminal's Ctrl-C does.
    if (child?.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('brings up Temporal with its UI and search attributes, prints endpoints, and stops cleanly on SIGINT', async () => {
    const [grpcPort, uiPort] = [await freePort(), await freePort()];
    child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['src/cli/index.ts', 'dev'], {
      cwd: root,
      env: {
        ...process.env,
        SAGALANE_DATA_DIR: dataDir,
        SAGALANE_TEMPORAL_PORT: String(grpcPort),
        SAGALANE_TEMPORAL_UI_PORT: String(uiPort),
        SAGALANE_MCP_PORT: '0',
        SAGALANE_METRICS_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const out = await waitForOutput(child, /Press Ctrl-C to stop/, 45_000);
    expect(out).toContain(`Temporal UI`);
    expect(out).toContain(`http://127.0.0.1:${uiPort}`);
    expect(out).toContain(`127.0.0.1:${grpcPort}`);

    const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
    expect(ui.status).toBe(200);

    const attrs = spawnSync(
      findTemporalCli()!,
      ['operator', 'search-attribute', 'list', '--address', `127.0.0.1:${grpcPort}`],
      { encoding: 'utf8' },
    );
    expect(attrs.stdout).toMatch(/SagaState\s+Keyword/);
    expect(attrs.stdout).toMatch(/SagaStep\s+Keyword/);
    expect(fs.existsSync(path.join(dataDir, 'temporal.db'))).toBe(true);
    expect(processesUsing(`--port ${grpcPort}`).length).toBeGreaterThan(0);

    let tail = '';
    child.stdout!.on('data', (c: Buffer) => (tail += c.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    process.kill(-child.pid!, 'SIGINT');
    // tsx reports a Ctrl-C'd program with the conventional 130; the CLI itself shut down in order.
    expect([0, 130]).toContain(await exited);
    expect(tail).toContain('stopped temporal dev server');
    expect(processesUsing(`--port ${grpcPort}`)).toEqual([]);
  });
});

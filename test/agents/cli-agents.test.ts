/**
 * The agents' parts of the CLI as a user runs them (spawned `sagalane` against a real stack): the saga shows what
 * the planner understood and assumed, `saga get --plot` writes the equity curve against buy and hold, and
 * `pipeline start --strict` refuses an idea the planner cannot map.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runSagalane, startFrontStack, type FrontStack } from '../front/front-kit';

describe('sagalane CLI: plans, plots and strict planning', () => {
  let stack: FrontStack;
  let tmp: string;
  beforeAll(async () => {
    stack = await startFrontStack('cli-agents');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-plot-'));
  });
  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('an RSI idea becomes an RSI plan that says what it understood, and its curve plots to an SVG file', async () => {
    const idea = `buy when RSI below 30, sell above 70 (${Date.now()})`;
    const run = await runSagalane(stack.env, [
      'pipeline',
      'start',
      '--idea',
      idea,
      '--symbol',
      'DEMO',
      '--wait',
    ]);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/plan: rsi long_only \(builtin\)/);
    expect(run.stdout).toContain('understood "below 30": lower ≈ 30');
    expect(run.stdout).toMatch(/assumed: period: the default search range/);
    const sagaId = /Saga (\S+) /.exec(run.stdout)![1]!;

    const file = path.join(tmp, 'curve.svg');
    const get = await runSagalane(stack.env, ['saga', 'get', sagaId, '--plot', file]);
    expect(get.code).toBe(0);
    expect(get.stdout).toContain(`Wrote the equity curve of ${sagaId} to ${file}`);
    const svg = fs.readFileSync(file, 'utf8');
    expect(svg).toContain('<svg ');
    expect(svg).toContain('rsi on DEMO');
    expect(svg.match(/<polyline data-series="(equity|buyAndHold)"/g)).toHaveLength(2);
  });

  it('pipeline start --strict refuses an idea that names no family, saying why', async () => {
    const run = await runSagalane(stack.env, [
      'pipeline',
      'start',
      '--idea',
      `make me rich ${Date.now()}`,
      '--symbol',
      'DEMO',
      '--strict',
      '--wait',
    ]);
    expect(run.code).toBe(1);
    expect(`${run.stdout}\n${run.stderr}`).toMatch(
      /strict planning refused the idea .*names no strategy family/,
    );
  });
});

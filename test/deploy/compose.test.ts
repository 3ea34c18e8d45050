import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const compose = (env: NodeJS.ProcessEnv) =>
  spawnSync('docker-compose', ['-f', path.join(root, 'docker-compose.yml'), 'config'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });

describe('docker-compose.yml (the reference production stack)', () => {
  beforeAll(() => {
    const found = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
    if (found.status !== 0) {
      throw new Error(
        'docker-compose is not installed: `apt-get install docker-compose` (.ci/run does this)',
      );
    }
  });

  it('is valid and has every part of the stack', () => {
    const r = compose({ SAGALANE_MCP_TOKEN: 'test-token' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const service of [
      'postgresql:',
      'temporal:',
      'temporal-ui:',
      'redis:',
      'saga-worker:',
      'express-worker:',
      'mcp:',
      'prometheus:',
    ]) {
      expect(r.stdout).toContain(`\n  ${service}`);
    }
    expect(r.stdout).toContain('--appendonly');
    expect(r.stdout).toContain('DB: postgres12');
    expect(r.stdout).toContain('SagaState');
  });

  it('publishes ports on loopback only', () => {
    const r = compose({ SAGALANE_MCP_TOKEN: 'test-token' });
    const portLines = r.stdout.split('\n').filter((l) => /^\s+- [\d.:]+\/tcp$/.test(l));
    expect(portLines.length).toBe(4);
    for (const line of portLines) expect(line.trim()).toMatch(/^- 127\.0\.0\.1:\d+:\d+\/tcp$/);
  });

  it('refuses to expose the MCP endpoint without a token', () => {
    const r = compose({ SAGALANE_MCP_TOKEN: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('SAGALANE_MCP_TOKEN');
  });

  it('quiet validation (`docker-compose config -q`) passes', () => {
    expect(() =>
      execFileSync('docker-compose', ['-f', path.join(root, 'docker-compose.yml'), 'config', '-q'], {
        env: { ...process.env, SAGALANE_MCP_TOKEN: 'x' },
        stdio: 'pipe',
      }),
    ).not.toThrow();
  });
});

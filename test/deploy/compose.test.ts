import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { DYNAMIC_CONFIG_PATH } from '../../src/dev/temporal-postgres';
import { TEMPORAL_SERVER_VERSION } from '../../src/dev/temporal-postgres-binaries';
import { SAGA_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';

const root = path.resolve(__dirname, '..', '..');
const compose = (env: NodeJS.ProcessEnv) =>
  spawnSync('docker-compose', ['-f', path.join(root, 'docker-compose.yml'), 'config'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });

/** One service's block of `docker-compose config` output (services are indented two spaces, keys four). */
function serviceBlock(config: string, name: string): string {
  const start = config.indexOf(`\n  ${name}:\n`);
  if (start < 0) throw new Error(`no service ${name} in docker-compose config`);
  const rest = config.slice(start + name.length + 5);
  const end = rest.search(/\n {2}\S|\n\S/);
  return end < 0 ? rest : rest.slice(0, end);
}

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
      'temporal-schema:',
      'temporal:',
      'temporal-setup:',
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

  describe('Temporal on PostgreSQL: the steps and files the PostgreSQL test run uses', () => {
    const config = () => compose({ SAGALANE_MCP_TOKEN: 'test-token' }).stdout;
    const version = TEMPORAL_SERVER_VERSION.replace(/^v/, '');

    it('runs the server image of the tested version, not the deprecated auto-setup image', () => {
      const out = config();
      expect(out).not.toContain('temporalio/auto-setup');
      expect(serviceBlock(out, 'temporal')).toContain(`image: temporalio/server:${version}`);
      for (const job of ['temporal-schema', 'temporal-setup']) {
        expect(serviceBlock(out, job)).toContain(`image: temporalio/admin-tools:${version}`);
      }
    });

    it('sets up the schemas with deploy/temporal/setup-postgres-schema.sh before the server starts', () => {
      const out = config();
      const schema = serviceBlock(out, 'temporal-schema');
      const script = path.join(root, 'deploy', 'temporal', 'setup-postgres-schema.sh');
      expect(schema).toContain(`- ${script}:/etc/temporal/sagalane/setup-postgres-schema.sh:ro`);
      expect(schema).toMatch(
        /entrypoint:\n\s+- sh\n\s+- \/etc\/temporal\/sagalane\/setup-postgres-schema\.sh\n/,
      );
      expect(schema).toContain('restart: "no"');
      const server = serviceBlock(out, 'temporal');
      expect(server).toMatch(
        /depends_on:\n\s+temporal-schema:\n\s+condition: service_completed_successfully/,
      );
      // The job fills the databases the server reads.
      expect(schema).toContain('TEMPORAL_DB: temporal\n');
      expect(server).toContain('DBNAME: temporal\n');
      expect(schema).toContain('VISIBILITY_DB: temporal_visibility');
      expect(server).toContain('VISIBILITY_DBNAME: temporal_visibility');
    });

    it('starts the server with deploy/temporal/dynamicconfig.yaml', () => {
      const server = serviceBlock(config(), 'temporal');
      const mounted = server.match(/- (\S+):(\S+):ro/);
      expect(mounted?.[1]).toBe(DYNAMIC_CONFIG_PATH);
      expect(server).toContain(`DYNAMIC_CONFIG_FILE_PATH: ${mounted?.[2]}`);
    });

    it('registers the namespace and exactly the saga search attributes with deploy/temporal/setup-namespace.sh', () => {
      const setup = serviceBlock(config(), 'temporal-setup');
      expect(setup).toContain('/etc/temporal/sagalane/setup-namespace.sh');
      const args = [...setup.matchAll(/^\s+- (\w+=\w+)$/gm)].map((m) => m[1]);
      expect(args).toEqual(SAGA_SEARCH_ATTRIBUTES.map((a) => `${a.name}=Keyword`));
      expect(setup).toMatch(/depends_on:\n\s+temporal:\n\s+condition: service_healthy/);
    });
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

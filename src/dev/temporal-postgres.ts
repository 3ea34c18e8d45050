/**
 * A real Temporal server (v1.29.1, built from source) on PostgreSQL, for `sagalane dev --persistence postgres`,
 * `npm run temporal:postgres` and the PostgreSQL test run (SAGALANE_TEST_TEMPORAL=postgres).
 *
 * Steps, each safe to repeat: build the binaries once (src/dev/temporal-postgres-binaries.ts); create both databases
 * and bring both schemas up to date with temporal-sql-tool (deploy/temporal/setup-postgres-schema.sh, the script the
 * compose stack's schema job runs); write the server's config; start the server with
 * deploy/temporal/dynamicconfig.yaml (the compose stack's own dynamic config); register the namespace and the saga
 * search attributes (deploy/temporal/setup-namespace.sh, also the compose stack's); optionally serve the Web UI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { SAGA_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { findTemporalCli, buildTemporalCli } from './temporal-cli';
import {
  ensureGoBinary,
  TEMPORAL_SERVER,
  TEMPORAL_SQL_TOOL,
  TEMPORAL_UI_SERVER,
  type EnsureBinaryOptions,
} from './temporal-postgres-binaries';
import {
  describePostgres,
  parsePostgresUrl,
  renderServerConfig,
  renderUiConfig,
  serverPorts,
  type PostgresTarget,
  type TemporalServerPorts,
} from './temporal-postgres-config';

const ROOT = path.resolve(__dirname, '..', '..');
/** The compose stack's dynamic config file: the PostgreSQL run uses it so a real server exercises it. */
export const DYNAMIC_CONFIG_PATH = path.join(ROOT, 'deploy', 'temporal', 'dynamicconfig.yaml');
const SCHEMA_SCRIPT = path.join(ROOT, 'deploy', 'temporal', 'setup-postgres-schema.sh');
const NAMESPACE_SCRIPT = path.join(ROOT, 'deploy', 'temporal', 'setup-namespace.sh');
/** The `--env` name, so the config file is `<stateDir>/config/sagalane.yaml`. */
const CONFIG_ENV = 'sagalane';

export class TemporalPostgresError extends Error {
  override readonly name = 'TemporalPostgresError';
}

export interface TemporalPostgresOptions {
  /**
   * `postgres://user[:password]@host[:port][/database]` (SAGALANE_POSTGRES_URL).
   * @defaultValue 'postgres://postgres@127.0.0.1:5432/sagalane_temporal'
   */
  postgresUrl?: string;
  /** Where the server's config, log and pid file go (one directory per server). */
  stateDir: string;
  /** Frontend gRPC port; the other services' ports derive from it (see `serverPorts`). */
  port: number;
  /** Web UI port; omit for no UI. */
  uiPort?: number;
  /** @defaultValue 'default' */
  namespace?: string;
  /** Server log level (the log goes to `<stateDir>/temporal-server.log`). @defaultValue 'warn' */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** @defaultValue DYNAMIC_CONFIG_PATH (deploy/temporal/dynamicconfig.yaml) */
  dynamicConfigPath?: string;
  /** How long the server may take to answer and register the namespace. @defaultValue 120000 */
  startTimeoutMs?: number;
  /** Progress lines. @defaultValue stderr */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface TemporalPostgresServer {
  /** `127.0.0.1:<port>` of the frontend. */
  address: string;
  namespace: string;
  ports: TemporalServerPorts;
  pg: PostgresTarget;
  uiUrl?: string;
  logFile: string;
  /** SIGTERM to the UI and the server, SIGKILL after 20 s; resolves when both have exited. Safe to call twice. */
  stop(): Promise<void>;
}

const defaultLog = (l: string) => process.stderr.write(l + '\n');

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  onLine: (line: string) => void,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let partial = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-16_000);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(onLine);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/** The last lines of `output` that say what failed (temporal-sql-tool logs much else). */
function failureTail(output: string): string {
  const lines = output.trim().split('\n');
  const errors = lines.filter((l) => /error|fatal|failed|refused|denied|does not exist/i.test(l));
  return (errors.length ? errors : lines).slice(-4).join('\n  ');
}

/**
 * Creates Temporal's two databases on `pg` and sets up / upgrades both schemas (idempotent, a few seconds when
 * nothing is to do).
 */
export async function setupTemporalSchemas(
  pg: PostgresTarget,
  opts: EnsureBinaryOptions = {},
): Promise<void> {
  const log = opts.log ?? defaultLog;
  const env = opts.env ?? process.env;
  const tool = await ensureGoBinary(TEMPORAL_SQL_TOOL, opts);
  log(`[sagalane] Temporal schemas on ${describePostgres(pg)}`);
  const result = await run(
    'sh',
    [SCHEMA_SCRIPT],
    {
      ...env,
      TEMPORAL_SQL_TOOL: tool,
      SQL_HOST: pg.host,
      SQL_PORT: String(pg.port),
      SQL_USER: pg.user,
      SQL_PASSWORD: pg.password,
      TEMPORAL_DB: pg.database,
      VISIBILITY_DB: pg.visibilityDatabase,
    },
    (line) => {
      if (line.startsWith('[temporal-schema]')) log(`[sagalane]   ${line.replace('[temporal-schema] ', '')}`);
    },
  );
  if (result.code !== 0) {
    throw new TemporalPostgresError(
      `Setting up Temporal's schemas on ${describePostgres(pg)} failed (exit ${result.code}):\n  ` +
        `${failureTail(result.output)}\nCheck that PostgreSQL runs there and SAGALANE_POSTGRES_URL's user may ` +
        'create databases.',
    );
  }
}

interface Spawned {
  child: ChildProcess;
  exited: Promise<void>;
  alive(): boolean;
  stop(): Promise<void>;
}

function spawnLogged(command: string, args: string[], logFile: string, cwd: string): Spawned {
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(command, args, { cwd, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => undefined);
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    exited,
    alive,
    async stop() {
      if (!alive()) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** The last lines of a server log, JSON lines shortened to level, message and error (no stack traces). */
function logTail(logFile: string): string {
  let text: string;
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    return '(no log)';
  }
  const short = (line: string) => {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
      return `${entry.level}: ${entry.msg}${entry.error ? ` (${entry.error})` : ''}`;
    } catch {
      return line;
    }
  };
  return text
    .trim()
    .split('\n')
    .slice(-6)
    .map((l) => short(l).slice(0, 400))
    .join('\n  ');
}

/**
 * A server left behind by a run that was killed (its pid file names a live temporal-server on this state dir) holds
 * the ports: stop it so a re-run starts cleanly.
 */
async function stopLeftover(pidFile: string, configDir: string, log: (l: string) => void): Promise<void> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  let cmdline = '';
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // Not running (or no /proc): nothing to stop.
  }
  if (pid > 0 && cmdline.includes('temporal-server') && cmdline.includes(configDir)) {
    log(`[sagalane]   stopping the Temporal server left running by an earlier run (pid ${pid})`);
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await sleep(100);
    }
  }
  fs.rmSync(pidFile, { force: true });
}

async function connectWhenUp(
  address: string,
  server: Spawned,
  deadline: number,
  logFile: string,
): Promise<Connection> {
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!server.alive()) {
      throw new TemporalPostgresError(
        `The Temporal server exited while starting. Its log (${logFile}) ends with:\n  ${logTail(logFile)}`,
      );
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.healthService.check({});
        return connection;
      } catch (err) {
        await connection.close();
        throw err;
      }
    } catch (err) {
      lastError = err;
      await sleep(250);
    }
  }
  throw new TemporalPostgresError(
    `The Temporal server did not answer on ${address} in time (last error: ${(lastError as Error)?.message}). ` +
      `Its log (${logFile}) ends with:\n  ${logTail(logFile)}`,
  );
}

async function temporalCliPath(env: NodeJS.ProcessEnv, log: (l: string) => void): Promise<string> {
  return findTemporalCli({ env, log }) ?? (await buildTemporalCli({ env, log }));
}

/** Polls until a visibility query on the saga search attributes is accepted (the namespace cache has caught up). */
async function waitForSearchAttributes(
  connection: Connection,
  namespace: string,
  deadline: number,
): Promise<void> {
  const query = SAGA_SEARCH_ATTRIBUTES.map((a) => `${a.name} = "probe"`).join(' AND ');
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await connection.workflowService.listWorkflowExecutions({ namespace, query, pageSize: 1 });
      return;
    } catch (err) {
      lastError = err;
      await sleep(250);
    }
  }
  throw new TemporalPostgresError(
    `The saga search attributes are registered but a query on them still fails: ${(lastError as Error)?.message}`,
  );
}

/**
 * Starts the server process on schemas that are already set up (see `setupTemporalSchemas`), registers the
 * namespace and the saga search attributes, and optionally the Web UI. A restart calls this again with the same
 * options: the same ports and state directory.
 */
export async function startTemporalPostgresServer(
  opts: TemporalPostgresOptions,
): Promise<TemporalPostgresServer> {
  const log = opts.log ?? defaultLog;
  const env = opts.env ?? process.env;
  const pg = parsePostgresUrl(opts.postgresUrl);
  const namespace = opts.namespace ?? 'default';
  const ports = serverPorts(opts.port);
  const address = `127.0.0.1:${ports.frontend}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 120_000);
  const serverBin = await ensureGoBinary(TEMPORAL_SERVER, { env, log });

  const stateDir = path.resolve(opts.stateDir);
  const configDir = path.join(stateDir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  const pidFile = path.join(stateDir, 'temporal-server.pid');
  await stopLeftover(pidFile, configDir, log);
  fs.writeFileSync(
    path.join(configDir, `${CONFIG_ENV}.yaml`),
    renderServerConfig({
      pg,
      ports,
      dynamicConfigPath: opts.dynamicConfigPath ?? DYNAMIC_CONFIG_PATH,
      logLevel: opts.logLevel,
    }),
  );
  const logFile = path.join(stateDir, 'temporal-server.log');
  log(`[sagalane] Starting Temporal server ${TEMPORAL_SERVER.version} on ${address} (log: ${logFile})`);
  const server = spawnLogged(
    serverBin,
    ['--root', stateDir, '--config', 'config', '--env', CONFIG_ENV, '--allow-no-auth', 'start'],
    logFile,
    stateDir,
  );
  fs.writeFileSync(pidFile, String(server.child.pid));
  let ui: Spawned | undefined;
  const stop = async () => {
    await ui?.stop();
    await server.stop();
    fs.rmSync(pidFile, { force: true });
  };

  try {
    const connection = await connectWhenUp(address, server, deadline, logFile);
    try {
      log(`[sagalane]   server answers; registering namespace ${namespace} and the saga search attributes`);
      const cli = await temporalCliPath(env, log);
      const registered = await run(
        'sh',
        [NAMESPACE_SCRIPT, ...SAGA_SEARCH_ATTRIBUTES.map((a) => `${a.name}=Keyword`)],
        { ...env, TEMPORAL_CLI: cli, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace },
        (line) => {
          if (line.startsWith('[temporal-namespace]'))
            log(`[sagalane]   ${line.replace('[temporal-namespace] ', '')}`);
        },
      );
      if (registered.code !== 0) {
        throw new TemporalPostgresError(
          `Registering namespace ${namespace} on ${address} failed:\n  ${failureTail(registered.output)}`,
        );
      }
      await waitForSearchAttributes(connection, namespace, deadline);
    } finally {
      await connection.close();
    }

    let uiUrl: string | undefined;
    if (opts.uiPort !== undefined) {
      const uiBin = await ensureGoBinary(TEMPORAL_UI_SERVER, { env, log });
      fs.mkdirSync(path.join(stateDir, 'ui'), { recursive: true });
      fs.writeFileSync(
        path.join(stateDir, 'ui', `${CONFIG_ENV}.yaml`),
        renderUiConfig({ temporalAddress: address, port: opts.uiPort, namespace }),
      );
      uiUrl = `http://127.0.0.1:${opts.uiPort}`;
      const uiLog = path.join(stateDir, 'temporal-ui.log');
      ui = spawnLogged(
        uiBin,
        ['--root', stateDir, '--config', 'ui', '--env', CONFIG_ENV, 'start'],
        uiLog,
        stateDir,
      );
      await waitForHttp(uiUrl, ui, deadline, uiLog);
    }
    log(`[sagalane] Temporal on PostgreSQL is up: ${address}${uiUrl ? `, UI ${uiUrl}` : ''}`);
    return { address, namespace, ports, pg, uiUrl, logFile, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitForHttp(url: string, proc: Spawned, deadline: number, logFile: string): Promise<void> {
  while (Date.now() < deadline) {
    if (!proc.alive()) {
      throw new TemporalPostgresError(`The Temporal UI server exited: ${logTail(logFile)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  throw new TemporalPostgresError(`The Temporal UI did not answer on ${url} in time: ${logTail(logFile)}`);
}

/** Schemas, then the server: what `sagalane dev --persistence postgres` and the test run start. */
export async function startTemporalOnPostgres(
  opts: TemporalPostgresOptions,
): Promise<TemporalPostgresServer> {
  const log = opts.log ?? defaultLog;
  await setupTemporalSchemas(parsePostgresUrl(opts.postgresUrl), { env: opts.env, log });
  return startTemporalPostgresServer({ ...opts, log });
}

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
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import type { Config } from '../config';
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
import {
  failureTail,
  logTail,
  runScript,
  startServerProcess,
  waitForHttp,
  type ServerProcess,
} from './temporal-postgres-process';

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
  const result = await runScript(
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

async function connectWhenUp(
  address: string,
  server: ServerProcess,
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
  const server = await startServerProcess({
    binary: serverBin,
    args: ['--root', stateDir, '--config', 'config', '--env', CONFIG_ENV, '--allow-no-auth', 'start'],
    cwd: stateDir,
    logFile,
    pidFile: path.join(stateDir, 'temporal-server.pid'),
    marker: stateDir,
    ports: Object.values(ports),
    log,
  });
  let ui: ServerProcess | undefined;
  const stop = async () => {
    await ui?.stop();
    await server.stop();
  };

  try {
    const connection = await connectWhenUp(address, server, deadline, logFile);
    try {
      log(`[sagalane]   server answers; registering namespace ${namespace} and the saga search attributes`);
      const cli = await temporalCliPath(env, log);
      const registered = await runScript(
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
      ui = await startServerProcess({
        binary: uiBin,
        args: ['--root', stateDir, '--config', 'ui', '--env', CONFIG_ENV, 'start'],
        cwd: stateDir,
        logFile: uiLog,
        pidFile: path.join(stateDir, 'temporal-ui.pid'),
        marker: stateDir,
        ports: [opts.uiPort],
        log,
      });
      await waitForHttp(uiUrl, ui, deadline, uiLog).catch((err: Error) => {
        throw new TemporalPostgresError(`The Temporal UI server did not come up: ${err.message}`);
      });
    }
    log(`[sagalane] Temporal on PostgreSQL is up: ${address}${uiUrl ? `, UI ${uiUrl}` : ''}`);
    return { address, namespace, ports, pg, uiUrl, logFile, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Schemas, then the server: what `sagalane dev --persistence postgres` and the test run start. */
export async function startTemporalOnPostgres(
  opts: TemporalPostgresOptions,
): Promise<TemporalPostgresServer> {
  const log = opts.log ?? defaultLog;
  await setupTemporalSchemas(parsePostgresUrl(opts.postgresUrl), { env: opts.env, log });
  return startTemporalPostgresServer({ ...opts, log });
}

/**
 * The local stack's server (`sagalane dev --persistence postgres`, `npm run temporal:postgres`): SAGALANE_POSTGRES_URL,
 * the dev server's ports (SAGALANE_TEMPORAL_PORT, SAGALANE_TEMPORAL_UI_PORT) and `<dataDir>/temporal-postgres`.
 */
export function devTemporalPostgresOptions(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
): TemporalPostgresOptions {
  return {
    postgresUrl: env.SAGALANE_POSTGRES_URL,
    stateDir: path.join(config.dataDir, 'temporal-postgres'),
    port: config.temporal.devPort,
    uiPort: config.temporal.devUiPort,
    namespace: config.temporal.namespace,
    env,
  };
}

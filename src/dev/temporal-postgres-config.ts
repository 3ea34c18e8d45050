/**
 * What a Temporal server on PostgreSQL is told, as pure functions: the PostgreSQL connection from
 * `SAGALANE_POSTGRES_URL`, the ports of the server's four services, the server's static config file and the Web
 * UI server's config file. src/dev/temporal-postgres.ts writes these and starts the processes.
 */
import { z } from 'zod';

/** The local PostgreSQL with trust auth, as on this project's CI machine. */
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/sagalane_temporal';

export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Temporal's main database (history, tasks, namespaces). */
  database: string;
  /** Temporal's visibility database (workflow lists, search attributes): `<database>_visibility`. */
  visibilityDatabase: string;
}

export class PostgresUrlError extends Error {
  override readonly name = 'PostgresUrlError';
}

const identifier = /^[a-z_][a-z0-9_]{0,50}$/;

/**
 * `postgres://user[:password]@host[:port][/database]`. The database names Temporal's main database (default
 * `sagalane_temporal`); visibility lives in `<database>_visibility`.
 */
export const postgresUrlSchema = z
  .string()
  .trim()
  .transform((raw, ctx): PostgresTarget => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not a URL' });
      return z.NEVER;
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      ctx.addIssue({ code: 'custom', message: 'must start with postgres:// or postgresql://' });
      return z.NEVER;
    }
    const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'sagalane_temporal';
    if (!identifier.test(database)) {
      ctx.addIssue({
        code: 'custom',
        message: `database "${database}" must be lower-case letters, digits and _ (at most 51 characters)`,
      });
      return z.NEVER;
    }
    return {
      host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
      port: url.port ? Number(url.port) : 5432,
      user: decodeURIComponent(url.username) || 'postgres',
      password: decodeURIComponent(url.password),
      database,
      visibilityDatabase: `${database}_visibility`,
    };
  });

export function parsePostgresUrl(raw: string | undefined): PostgresTarget {
  const parsed = postgresUrlSchema.safeParse(raw ?? DEFAULT_POSTGRES_URL);
  if (!parsed.success) {
    throw new PostgresUrlError(
      `SAGALANE_POSTGRES_URL ${JSON.stringify(raw)} ${parsed.error.issues[0]?.message}: use ` +
        `postgres://user[:password]@host[:port][/database], e.g. ${DEFAULT_POSTGRES_URL}`,
    );
  }
  return parsed.data;
}

/** The URL without its password, for progress lines. */
export function describePostgres(pg: PostgresTarget): string {
  return `postgres://${pg.user}@${pg.host}:${pg.port} (databases ${pg.database}, ${pg.visibilityDatabase})`;
}

/** gRPC, HTTP and membership (ringpop) ports of the frontend, history, matching and worker services. */
export interface TemporalServerPorts {
  frontend: number;
  /** The frontend's HTTP API (and Nexus, which the server turns off without it). */
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  frontendMembership: number;
  historyMembership: number;
  matchingMembership: number;
  workerMembership: number;
}

/** Temporal's PostgreSQL schema keeps membership ports in a `smallint` column: 32767 at most. */
export const MAX_MEMBERSHIP_PORT = 32767;
/** The highest frontend port whose derived membership ports PostgreSQL can store. */
export const MAX_FRONTEND_PORT = MAX_MEMBERSHIP_PORT + 294;

/**
 * Every port from the frontend's, laid out as Temporal's defaults are around 7233 (history +1, matching +2,
 * worker +6, HTTP +10, membership 300 below each). A pure function of one number, so a restarted server binds exactly the
 * ports its peers recorded in the cluster_membership table.
 */
export function serverPorts(frontend: number): TemporalServerPorts {
  if (!Number.isInteger(frontend) || frontend < 1324 || frontend > MAX_FRONTEND_PORT) {
    throw new RangeError(
      `Temporal frontend port ${frontend} must be an integer in 1324..${MAX_FRONTEND_PORT}: the membership ports ` +
        `(300 below it) must be >= 1024 and fit PostgreSQL's smallint column (<= ${MAX_MEMBERSHIP_PORT})`,
    );
  }
  return {
    frontend,
    frontendHttp: frontend + 10,
    history: frontend + 1,
    matching: frontend + 2,
    worker: frontend + 6,
    frontendMembership: frontend - 300,
    historyMembership: frontend - 299,
    matchingMembership: frontend - 298,
    workerMembership: frontend - 294,
  };
}

export interface ServerConfigInput {
  pg: PostgresTarget;
  ports: TemporalServerPorts;
  /** Absolute path of the dynamic config file (deploy/temporal/dynamicconfig.yaml). */
  dynamicConfigPath: string;
  /** Server log level. @defaultValue 'warn' */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * History shards. Fixed when the cluster is first created: a different value later stops the server.
   * @defaultValue 4 (Temporal's development configs; enough for one machine)
   */
  numHistoryShards?: number;
}

/**
 * The server's static config, after Temporal's own config/development-postgres12.yaml (v1.29.1) with sagalane's
 * databases, ports and dynamic config file. Rendered as JSON, which is YAML too (the server reads it with yaml.v3).
 */
export function renderServerConfig(input: ServerConfigInput): string {
  const { pg, ports } = input;
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${pg.host.includes(':') ? `[${pg.host}]` : pg.host}:${pg.port}`,
      connectProtocol: 'tcp',
      user: pg.user,
      password: pg.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (grpcPort: number, membershipPort: number, httpPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...(httpPort ? { httpPort } : {}) },
  });
  const config = {
    log: { stdout: true, level: input.logLevel ?? 'warn', format: 'json' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: input.numHistoryShards ?? 4,
      datastores: {
        'postgres-default': datastore(pg.database, 20),
        'postgres-visibility': datastore(pg.visibilityDatabase, 10),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      // No pprof, no metrics listener: only the ports above are bound.
      pprof: { port: 0 },
    },
    services: {
      frontend: rpc(ports.frontend, ports.frontendMembership, ports.frontendHttp),
      history: rpc(ports.history, ports.historyMembership),
      matching: rpc(ports.matching, ports.matchingMembership),
      worker: rpc(ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${ports.frontend}`,
          httpAddress: `127.0.0.1:${ports.frontendHttp}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: input.dynamicConfigPath, pollInterval: '10s' },
  };
  return JSON.stringify(config, null, 2) + '\n';
}

/** The Temporal Web UI server's config (github.com/temporalio/ui-server, the UI the Temporal CLI embeds). */
export function renderUiConfig(input: { temporalAddress: string; port: number; namespace: string }): string {
  return (
    JSON.stringify(
      {
        temporalGrpcAddress: input.temporalAddress,
        host: '127.0.0.1',
        port: input.port,
        enableUi: true,
        defaultNamespace: input.namespace,
        cors: { allowOrigins: [`http://127.0.0.1:${input.port}`, `http://localhost:${input.port}`] },
        showTemporalSystemNamespace: false,
        notifyOnNewVersion: false,
      },
      null,
      2,
    ) + '\n'
  );
}

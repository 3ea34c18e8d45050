/**
 * Temporal on PostgreSQL for tests: a server of the test run's own on free ports, on the databases
 * `sagalane_temporal_test` / `sagalane_temporal_test_visibility` by default (SAGALANE_TEST_POSTGRES_URL picks
 * others), so nothing else on the machine's PostgreSQL is touched.
 */
import net from 'node:net';
import {
  startTemporalOnPostgres,
  type TemporalPostgresOptions,
  type TemporalPostgresServer,
} from '../../src/dev/temporal-postgres';
import { MAX_FRONTEND_PORT, serverPorts } from '../../src/dev/temporal-postgres-config';

export const TEST_POSTGRES_URL =
  process.env.SAGALANE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/sagalane_temporal_test';

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A frontend port whose whole derived set (see `serverPorts`) is free right now. Drawn from 20000..33061, below
 * the OS's ephemeral range (where `freePort` would draw), because PostgreSQL stores membership ports as smallint.
 */
export async function freeTemporalPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * (MAX_FRONTEND_PORT - 20_000));
    const all = Object.values(serverPorts(port));
    if ((await Promise.all(all.map(canBind))).every(Boolean)) return port;
  }
  throw new Error('found no free set of ports for a Temporal server after 50 attempts');
}

/** Schemas set up, server started on free ports, namespace and search attributes registered. */
export async function startTestTemporalOnPostgres(
  opts: Pick<TemporalPostgresOptions, 'stateDir' | 'log'> & Partial<TemporalPostgresOptions>,
): Promise<TemporalPostgresServer> {
  return startTemporalOnPostgres({
    postgresUrl: TEST_POSTGRES_URL,
    port: await freeTemporalPort(),
    logLevel: 'error',
    ...opts,
  });
}

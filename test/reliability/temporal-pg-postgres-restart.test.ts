/**
 * Temporal on PostgreSQL: PostgreSQL itself goes down while 20 sagas are inside a step (`pg_ctlcluster … stop`,
 * which ends every connection, held down a few seconds, then `start`). The Temporal server stays up and reconnects
 * to the database; every saga ends correctly and no finished step runs again (sagas-in-flight.ts).
 *
 * Stops the machine's PostgreSQL cluster (only its users notice; nothing else in the test suites uses it).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parsePostgresUrl } from '../../src/dev/temporal-postgres-config';
import { expectEverySagaCorrect, outcomeFigures } from './sagas-in-flight';
import { postgresSagaRig, RELIABILITY_POSTGRES_URL, type PostgresSagaRig } from './temporal-pg-kit';
import { figure, waitFor } from './reliability-kit';

const pg = parsePostgresUrl(RELIABILITY_POSTGRES_URL);

/** The local cluster's version directory (`/etc/postgresql/<version>`), as pg_ctlcluster wants it. */
function clusterVersion(): string {
  const versions = fs.existsSync('/etc/postgresql') ? fs.readdirSync('/etc/postgresql') : [];
  if (versions.length !== 1) {
    throw new Error(
      `this test stops the local PostgreSQL with pg_ctlcluster and needs exactly one cluster version in ` +
        `/etc/postgresql (found ${JSON.stringify(versions)})`,
    );
  }
  return versions[0]!;
}

function pgctl(action: 'stop' | 'start'): void {
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', clusterVersion(), 'main', action], {
    stdio: 'pipe',
  });
}

function postgresAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(pg.port, pg.host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Error lines in the Temporal server's log that name PostgreSQL going away (the outage reached the server). */
function databaseErrors(logFile: string): number {
  return fs
    .readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(
      (l) =>
        l.includes('"level":"error"') &&
        /connection refused|terminating connection|shutting down|EOF/.test(l),
    ).length;
}

describe('PostgreSQL under Temporal restarted with sagas in flight', () => {
  let rig: PostgresSagaRig;
  let postgresDown = false;
  beforeAll(async () => {
    if (!['127.0.0.1', 'localhost', '::1'].includes(pg.host)) {
      throw new Error(`this test restarts the local PostgreSQL; ${RELIABILITY_POSTGRES_URL} is not local`);
    }
    clusterVersion();
    rig = await postgresSagaRig('rel-temporal-pg-postgres');
  });
  afterAll(async () => {
    // Never leave the machine's PostgreSQL stopped, whatever failed.
    if (postgresDown) pgctl('start');
    await rig?.close();
  });

  it('ends every saga correctly after PostgreSQL comes back', async () => {
    const started = Date.now();
    await rig.startSagasInFlight('survive a PostgreSQL restart');

    const logFile = rig.server().logFile;
    const errorsBefore = databaseErrors(logFile);
    const downAt = Date.now();
    postgresDown = true;
    pgctl('stop');
    expect(await postgresAnswers()).toBe(false);
    // Down long enough for Temporal's persistence calls, the worker's polls and the held steps' heartbeats to fail.
    await sleep(3_000);
    pgctl('start');
    postgresDown = false;
    await waitFor('PostgreSQL to accept connections', async () =>
      (await postgresAnswers()) ? true : undefined,
    );
    const downSeconds = (Date.now() - downAt) / 1000;

    const outcomes = await rig.releaseAndCollect();
    const serverErrors = databaseErrors(logFile) - errorsBefore;
    figure('postgresql restart under temporal', {
      ...outcomeFigures(outcomes),
      server_database_errors: serverErrors,
      postgres_down_s: downSeconds.toFixed(1),
      seconds: ((Date.now() - started) / 1000).toFixed(1),
    });
    // The server did lose its database (else this test proves nothing), and recovered.
    expect(serverErrors).toBeGreaterThan(0);
    expectEverySagaCorrect(outcomes);
  });
});

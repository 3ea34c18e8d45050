/**
 * Temporal on PostgreSQL: the Temporal server process is stopped while 20 sagas are inside a step, stays down a few
 * seconds, and starts again on the same ports and databases. The worker and client reconnect by themselves; every
 * saga ends correctly and no finished step runs again (sagas-in-flight.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expectEverySagaCorrect, outcomeFigures } from './sagas-in-flight';
import { postgresSagaRig, type PostgresSagaRig } from './temporal-pg-kit';
import { figure, portAnswers } from './reliability-kit';

describe('Temporal server on PostgreSQL restarted with sagas in flight', () => {
  let rig: PostgresSagaRig;
  beforeAll(async () => {
    rig = await postgresSagaRig('rel-temporal-pg-server');
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('ends every saga correctly after the server restart', async () => {
    const started = Date.now();
    await rig.startSagasInFlight('survive a Temporal server restart on PostgreSQL');
    const port = rig.server().ports.frontend;

    const downAt = Date.now();
    await rig.stopServer();
    expect(await portAnswers(port)).toBe(false);
    // Down long enough for the worker's polls and the held steps' heartbeats to fail.
    await sleep(3_000);
    await rig.startServer();
    const downSeconds = (Date.now() - downAt) / 1000;

    const outcomes = await rig.releaseAndCollect();
    figure('temporal server restart (postgresql)', {
      ...outcomeFigures(outcomes),
      server_down_s: downSeconds.toFixed(1),
      seconds: ((Date.now() - started) / 1000).toFixed(1),
    });
    expectEverySagaCorrect(outcomes);
  });
});

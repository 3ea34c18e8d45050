/**
 * The lazy front door against real backends: a Temporal address where nothing listens (then the run's real dev
 * server behind a forwarder on that same port) and a private redis-server that is started, crashed and started again.
 * What the CLI and the MCP server rely on: nothing connects until asked, a down backend is a BackendUnavailableError
 * naming it, its address and how to start it, quickly, and the same door works once the backend is back.
 */
import { loadConfig } from '../../src/config';
import { BackendUnavailableError, isBackendDown, openLazyFrontDoor } from '../../src/client/front-door';
import { TemporalUnavailableError } from '../../src/client/errors';
import { RedisUnavailableError } from '../../src/lane/errors';
import { freePort } from '../helpers/ports';
import { PrivateRedis } from '../helpers/private-redis';
import { redisUrl, uniquePrefix } from '../helpers/redis';
import { TcpForwarder } from '../helpers/tcp-forwarder';
import { temporalAddress, uniqueTaskQueue } from '../helpers/temporal';
import { pollUntil } from './front-kit';

jest.setTimeout(90_000);

async function failure(p: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const t0 = Date.now();
  try {
    await p;
  } catch (error) {
    return { error, ms: Date.now() - t0 };
  }
  throw new Error('expected a failure, the call succeeded');
}

describe('openLazyFrontDoor: Temporal', () => {
  let forwarder: TcpForwarder;
  /** The shared Redis behind a forwarder that counts connections: asking only for sagas must open none. */
  let redisForwarder: TcpForwarder;
  beforeAll(async () => {
    forwarder = TcpForwarder.toAddress(await freePort(), temporalAddress());
    redisForwarder = TcpForwarder.toAddress(await freePort(), new URL(redisUrl()).host);
    await redisForwarder.start();
  });
  afterAll(async () => {
    await forwarder.stop();
    await redisForwarder.stop();
  });

  it('opens nothing until asked, names a down Temporal within seconds, and connects on a later call once it is up', async () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: forwarder.address,
      SAGALANE_TASK_QUEUE: uniqueTaskQueue('front-door'),
      REDIS_URL: `redis://${redisForwarder.address}`,
    });
    const door = openLazyFrontDoor(config);
    try {
      // Opening the door dials nothing: Temporal is down, so that is seen below; Redis is up and gets no connection
      // from the door at any point of this test (checked at the end, after every sagas() call).
      const down = await failure(door.sagas());
      expect(down.error).toBeInstanceOf(BackendUnavailableError);
      const err = down.error as BackendUnavailableError;
      expect(err.name).toBe('BackendUnavailableError');
      expect(err.backend).toBe('temporal');
      expect(err.address).toBe(forwarder.address);
      expect(err.hint).toContain('TEMPORAL_ADDRESS');
      expect(err.message).toContain(`Temporal is not reachable at ${forwarder.address}`);
      expect(down.ms).toBeLessThan(8_000);
      // isBackendDown passes the named error through.
      expect(isBackendDown(err)).toBe(err);

      // The same door, no restart: Temporal appears on that address and the next call connects.
      await forwarder.start();
      const sagas = await door.sagas();
      expect(await door.sagas()).toBe(sagas);
      const page = await sagas.list({ pageSize: 1 });
      expect(Array.isArray(page.items)).toBe(true);

      // Temporal goes away under the open client: the call fails promptly and maps to the named error.
      await forwarder.stop();
      const later = await failure(sagas.list({ pageSize: 1 }));
      expect(later.ms).toBeLessThan(8_000);
      const mapped = isBackendDown(later.error, { temporalAddress: forwarder.address });
      expect(mapped?.backend).toBe('temporal');
      expect(mapped?.address).toBe(forwarder.address);

      // And back again: the open client recovers on its own.
      await forwarder.start();
      await pollUntil(
        () =>
          sagas.list({ pageSize: 1 }).then(
            () => true,
            () => false,
          ),
        (ok) => ok,
        20_000,
      );
      // The counters count: the door did connect to Temporal through its forwarder, and never to Redis.
      expect(forwarder.connections).toBeGreaterThan(0);
      expect(redisForwarder.connections).toBe(0);
    } finally {
      await door.close();
    }
  });

  it('with the default address names `npm start` as the way to start Temporal', async () => {
    const port = await freePort();
    const door = openLazyFrontDoor(loadConfig({ SAGALANE_TEMPORAL_PORT: String(port) }));
    try {
      const { error } = await failure(door.sagas());
      expect(error).toMatchObject({ backend: 'temporal', address: `127.0.0.1:${port}` });
      expect((error as BackendUnavailableError).hint).toBe(
        'start it with `npm start` (or set TEMPORAL_ADDRESS)',
      );
    } finally {
      await door.close();
    }
  });
});

describe('openLazyFrontDoor: Redis', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
  });
  afterAll(async () => {
    await redis.destroy();
  });

  it('fails fast while Redis is down, works once it is up, and again after a crash and restart', async () => {
    // Temporal is up behind a forwarder that counts connections: the express client must open none.
    const temporalForwarder = TcpForwarder.toAddress(await freePort(), temporalAddress());
    await temporalForwarder.start();
    const config = loadConfig({
      TEMPORAL_ADDRESS: temporalForwarder.address,
      REDIS_URL: redis.url,
      SAGALANE_KEY_PREFIX: uniquePrefix('front-door'),
    });
    const door = openLazyFrontDoor(config);
    try {
      const first = await failure(door.express());
      expect(first.error).toMatchObject({
        name: 'BackendUnavailableError',
        backend: 'redis',
        address: redis.url,
      });
      expect((first.error as BackendUnavailableError).hint).toContain('REDIS_URL');
      expect(first.ms).toBeLessThan(2_000);
      // Asked again while ioredis reconnects: refused on what the connection knows (its state, or its attempt under
      // way refused), never queued until the probe's timeout. The reason says which path answered: no clock to race
      // on a loaded machine.
      const second = await failure(door.express());
      expect(second.error).toBeInstanceOf(BackendUnavailableError);
      const reason = (second.error as Error).message;
      expect(reason).toMatch(
        /\((the last connection attempt failed; reconnecting|connect ECONNREFUSED [^)]*)\)/,
      );
      expect(reason).not.toContain('no answer within');

      await redis.start();
      const express = await pollUntil(
        () => door.express().catch(() => undefined),
        (c) => c !== undefined,
        10_000,
      );
      const { taskId } = await express!.submit({ type: 'echo', payload: { message: 'hi' } });
      expect((await express!.get(taskId))?.status).toBe('queued');

      await redis.crash();
      const submitDown = await failure(express!.submit({ type: 'echo', payload: { message: 'hi' } }));
      expect(submitDown.ms).toBeLessThan(3_000);
      expect(isBackendDown(submitDown.error)).toMatchObject({ backend: 'redis', address: redis.url });
      const doorDown = await failure(door.express());
      expect(doorDown.error).toMatchObject({ backend: 'redis' });
      expect(doorDown.ms).toBeLessThan(3_000);

      await redis.start();
      const again = await pollUntil(
        () => door.express().catch(() => undefined),
        (c) => c !== undefined,
        10_000,
      );
      expect(again).toBe(express);
      expect((await again!.get(taskId))?.status).toBe('queued');
      expect(temporalForwarder.connections).toBe(0);
    } finally {
      await door.close();
      await temporalForwarder.stop();
    }
  });
});

describe('isBackendDown', () => {
  it('maps the clients’ own unavailable errors and leaves other failures alone', () => {
    const temporal = isBackendDown(new TemporalUnavailableError('10.0.0.1:7233', 'connect ECONNREFUSED'));
    expect(temporal).toMatchObject({ backend: 'temporal', address: '10.0.0.1:7233' });
    const redis = isBackendDown(
      new RedisUnavailableError('redis://10.0.0.2:6379', 'connection reconnecting'),
    );
    expect(redis).toMatchObject({ backend: 'redis', address: 'redis://10.0.0.2:6379' });
    const raw = isBackendDown(new Error('connect ECONNREFUSED 127.0.0.1:6390'));
    expect(raw).toMatchObject({ backend: 'redis', address: '127.0.0.1:6390' });
    expect(isBackendDown(new Error('Invalid payload for task type "echo"'))).toBeUndefined();
    expect(isBackendDown('not an error')).toBeUndefined();
  });
});

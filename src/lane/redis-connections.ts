/** How the lane opens Redis connections: RESP2 replies, named connections, and the right queueing per role. */
import Redis, { type RedisOptions } from 'ioredis';

export type ConnectionRole = 'client' | 'subscriber' | 'worker-commands' | 'worker-reader';

const reconnectWithBackoff = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000);

export function openLaneConnection(url: string, role: ConnectionRole, extra: RedisOptions = {}): Redis {
  const base: RedisOptions = {
    protocol: 2,
    connectionName: `sagalane-${role}`,
    retryStrategy: reconnectWithBackoff,
    lazyConnect: true,
    // After disconnect(), ioredis waits this long for a dead socket to close; the default 2 s delays process exit.
    disconnectTimeout: 200,
  };
  const perRole: Record<ConnectionRole, RedisOptions> = {
    // Producers fail fast: a submit during an outage must reject, not wait in an offline queue.
    client: {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      enableAutoPipelining: true,
      connectTimeout: 2000,
    },
    subscriber: { maxRetriesPerRequest: null },
    // Workers wait out outages: an ack queued offline is sent after the reconnect.
    'worker-commands': { maxRetriesPerRequest: null, enableAutoPipelining: true },
    // The blocking XREADGROUP connections. A read cut by a disconnect is re-sent after the reconnect (without that,
    // ioredis would leave it unsettled forever); entries its lost reply carried are reclaimed by a janitor.
    'worker-reader': { maxRetriesPerRequest: null },
  };
  const redis = new Redis(url, { ...base, ...perRole[role], ...extra });
  return redis;
}

export function isConnectionError(err: unknown): boolean {
  const msg = String((err as Error)?.message ?? err);
  return /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection is closed|enableOfflineQueue|Stream isn't writeable|MaxRetriesPerRequest|connect ETIMEDOUT|LOADING/i.test(
    msg,
  );
}

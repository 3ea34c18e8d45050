/**
 * How sagalane opens Redis connections: RESP2 replies, named connections, and the right queueing per role.
 *
 * The one switch between a single Redis and a Redis Cluster is the address: `redis://…` / `rediss://…` opens an
 * ioredis `Redis`, `redis+cluster://host:port,host:port` / `rediss+cluster://…` an ioredis `Cluster` (config.ts
 * builds that address from `REDIS_CLUSTER_NODES`). Every caller takes a `RedisClient`, either of the two.
 */
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseHostPort } from '../config';
import { redactUrl } from '../logger';
import { LaneOptionsError } from './errors';

/** A connection to one Redis or to a Redis Cluster (ioredis `Redis` or `Cluster`). */
export type RedisClient = Redis | Cluster;

export type ConnectionRole = 'client' | 'subscriber' | 'worker-commands' | 'worker-reader';

const reconnectWithBackoff = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000);

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\//;

export interface ClusterAddress {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

export function isClusterUrl(url: string): boolean {
  return CLUSTER_SCHEME.test(url);
}

/** The nodes and credentials of a `redis+cluster://` address; `undefined` for a single-Redis URL. */
export function parseClusterUrl(url: string): ClusterAddress | undefined {
  const scheme = CLUSTER_SCHEME.exec(url);
  if (!scheme) return undefined;
  let rest = url.slice(scheme[0].length).replace(/\/$/, '');
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const [user, ...pass] = rest.slice(0, at).split(':');
    username = user ? decodeURIComponent(user) : undefined;
    password = pass.length ? decodeURIComponent(pass.join(':')) : undefined;
    rest = rest.slice(at + 1);
  }
  const items = rest.split(',').filter((s) => s.trim() !== '');
  const nodes = items.map(parseHostPort);
  const bad = items.filter((_, i) => !nodes[i]);
  if (items.length === 0 || bad.length)
    throw new LaneOptionsError(
      `Redis Cluster address "${redactUrl(url)}" must list host:port nodes separated by commas` +
        (bad.length ? ` (not host:port: ${bad.join(', ')})` : ''),
    );
  return {
    nodes: nodes as { host: string; port: number }[],
    username,
    password,
    tls: scheme[1] === 'rediss',
  };
}

export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/** A connection for `role` to the Redis (or Redis Cluster) at `url`; `extra` overrides the role's options. */
export function openLaneConnection(url: string, role: ConnectionRole, extra: RedisOptions = {}): RedisClient {
  const base: RedisOptions = {
    protocol: 2,
    connectionName: `sagalane-${role}`,
    retryStrategy: reconnectWithBackoff,
    lazyConnect: true,
    // After disconnect(), ioredis waits this long for a dead socket to close; the default 2 s delays process exit.
    disconnectTimeout: 200,
  };
  // No ioredis auto-pipelining on the command connections: the lane batches its own hot commands (one script call
  // per stream for a tick's completions, per chunk of 100 submits), so what is left are mostly lone commands, and
  // for a lone command auto-pipelining costs more than the write it saves (a Pipeline per tick: one HGETALL at a
  // time took 51-112 µs of Node with it, 25-51 µs without). Measured in one process, alternately, 4 rounds at load
  // 7-9: Node µs per task with / without it, paced 1,000/s 304-470 / 269-379, saturation 16.5-30.1 / 15.6-19.2,
  // closed loop of 100 71-92 / 63-81.
  const perRole: Record<ConnectionRole, RedisOptions> = {
    // Producers fail fast: a submit during an outage must reject, not wait in an offline queue.
    client: {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
    },
    subscriber: { maxRetriesPerRequest: null },
    // Workers wait out outages: an ack queued offline is sent after the reconnect.
    'worker-commands': { maxRetriesPerRequest: null },
    // The blocking XREADGROUP connections. A read cut by a disconnect is re-sent after the reconnect (without that,
    // ioredis would leave it unsettled forever); entries its lost reply carried are reclaimed by a janitor.
    'worker-reader': { maxRetriesPerRequest: null },
  };
  return openRedis(
    url,
    { ...base, ...perRole[role], ...extra },
    { shardedSubscriber: role === 'subscriber' },
  );
}

/**
 * A connection to the Redis or Redis Cluster at `url` with ioredis `options` (for connections outside the lane
 * roles: agents' artifacts and plan cache, the CLI). On a Cluster, `options` apply to each node's connection.
 */
export function openRedis(
  url: string,
  options: RedisOptions = {},
  { shardedSubscriber = false }: { shardedSubscriber?: boolean } = {},
): RedisClient {
  const cluster = parseClusterUrl(url);
  if (cluster) return openCluster(cluster, options, shardedSubscriber);
  return new Redis(url, options);
}

/**
 * The same options on a Cluster. Connection-level options go to every node's connection (`redisOptions`); queueing,
 * pipelining and reconnecting are the Cluster's own. A subscriber uses one connection per shard, so `SSUBSCRIBE`
 * reaches the master that owns each channel's slot.
 */
function openCluster(address: ClusterAddress, o: RedisOptions, shardedSubscriber: boolean): Cluster {
  const { lazyConnect, enableOfflineQueue, enableAutoPipelining, retryStrategy, ...nodeOptions } = o;
  const clusterOptions: ClusterOptions = {
    lazyConnect,
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableAutoPipelining,
    clusterRetryStrategy: retryStrategy ?? reconnectWithBackoff,
    // A failover is seconds of CLUSTERDOWN / closed connections: retry commands through it, a little apart.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    shardedSubscribers: shardedSubscriber,
    redisOptions: {
      ...nodeOptions,
      ...(address.username ? { username: address.username } : {}),
      ...(address.password ? { password: address.password } : {}),
      ...(address.tls ? { tls: {} } : {}),
    },
  };
  return new Cluster(address.nodes, clusterOptions);
}

export function isConnectionError(err: unknown): boolean {
  const msg = String((err as Error)?.message ?? err);
  return /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection is closed|enableOfflineQueue|Stream isn't writeable|MaxRetriesPerRequest|connect ETIMEDOUT|LOADING|CLUSTERDOWN|Failed to refresh slots cache|Cluster is ended|None of startup nodes is available/i.test(
    msg,
  );
}

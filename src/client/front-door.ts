/**
 * The clients a front door (CLI, MCP server, an embedding service) needs, opened lazily from the config: a SagaClient
 * on Temporal and an ExpressClient on Redis that can validate every built-in and agent task type.
 *
 * Nothing connects until a command asks for a client, so a command that needs only Redis works with Temporal down
 * and the other way round. A backend that does not answer is reported as a BackendUnavailableError naming it, its
 * address and how to start it; the next call tries again, so a long-running front door (the MCP server) recovers as
 * soon as the backend is back, without a restart.
 */
import net from 'node:net';
import {
  Connection,
  defaultGrpcRetryOptions,
  type ConnectionLike,
  isGrpcServiceError,
  makeGrpcRetryInterceptor,
} from '@temporalio/client';
import type { Config } from '../config';
import { RedisUnavailableError } from '../lane/errors';
import { redactText, redactUrl } from '../logger';
import { ExpressClient } from '../lane/express-client';
import {
  isCluster,
  isConnectionError,
  openLaneConnection,
  type RedisClient,
} from '../lane/redis-connections';
import type { TaskSchema } from '../lane/task-types';
import { TemporalUnavailableError } from './errors';
import { loadSagaModule } from '../catalog/saga-module';
import { SagaClient } from './saga-client';
import { DEFAULT_TASK_SCHEMAS } from '../runtime/task-schemas';
import { connectionSettings } from '../runtime/temporal-connection';
import { tracedTemporalClient } from '../runtime/temporal-tracing';

export { DEFAULT_TASK_SCHEMAS };

export type Backend = 'temporal' | 'redis';

/**
 * A backend a command needs did not answer. Nothing was started, submitted or read. Its message reaches MCP clients
 * and logs, so the address is shown without its credentials (a REDIS_URL's password).
 */
export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
  /** Where the backend was expected, without credentials (`redis://user:***@host:6379`). */
  readonly address: string;
  constructor(
    readonly backend: Backend,
    address: string,
    /** How to start it, e.g. "start it with `npm start` (or set TEMPORAL_ADDRESS)". */
    readonly hint: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    const shown = redactUrl(address);
    super(
      `${backend === 'temporal' ? 'Temporal' : 'Redis'} is not reachable at ${shown} (${redactText(reason)}): ${hint}.`,
      { cause: options?.cause },
    );
    this.address = shown;
  }
}

export interface LazyFrontDoor {
  /** Connects on first use; throws BackendUnavailableError when Temporal does not answer; the next call tries again. */
  sagas(): Promise<SagaClient>;
  /** Connects on first use; throws BackendUnavailableError at once when Redis is down; the next call tries again. */
  express(): Promise<ExpressClient>;
  /** Closes whatever was opened. The door cannot be used afterwards. */
  close(): Promise<void>;
}

export interface LazyFrontDoorOptions {
  /** Temporal frontend `host:port`. @defaultValue `clientTemporalAddress(config)` */
  address?: string;
  /** Task types the ExpressClient validates submissions against. @defaultValue DEFAULT_TASK_SCHEMAS */
  taskSchemas?: TaskSchema[];
  /**
   * How long a Temporal server that accepts the TCP connection may take to complete the gRPC handshake (a busy
   * machine needs seconds). Nothing listening is reported at once, and no TCP answer after 3 s counts as down too.
   * @defaultValue 10000
   */
  connectTimeoutMs?: number;
  /**
   * Attempts per Temporal call while the server does not answer (the SDK's default is 10, about 20 s of backoff,
   * too long for a command or a tool call to sit silent). @defaultValue 4 (about 0.6 s)
   */
  callAttempts?: number;
  /** Called once with the ExpressClient when it is created (e.g. to count its submissions in metrics). */
  onExpressClient?: (client: ExpressClient) => void;
  /**
   * A saga worker's connection in this process to start sagas on (not closed by the door): sagas then start eagerly
   * on that worker (`SagaClient` `eagerStart`). No probe or call-attempt limit applies to it: its owner connected it.
   * @defaultValue a connection of the door's own to `address`
   */
  temporalConnection?: ConnectionLike;
}

/**
 * The Temporal address clients use: TEMPORAL_ADDRESS, or else the local dev server `sagalane dev` runs on
 * SAGALANE_TEMPORAL_PORT.
 */
export function clientTemporalAddress(config: Config): string {
  return config.temporal.address ?? `127.0.0.1:${config.temporal.devPort}`;
}

/** The "how to start it" part of a BackendUnavailableError. */
export function startHint(backend: Backend, external: boolean): string {
  if (backend === 'temporal') {
    return external
      ? 'check that the Temporal server at TEMPORAL_ADDRESS is running, or point TEMPORAL_ADDRESS at one that is'
      : 'start it with `npm start` (or set TEMPORAL_ADDRESS)';
  }
  return external
    ? 'check that the Redis server at REDIS_URL is running, or point REDIS_URL at one that is'
    : 'start it with `npm start` or `redis-server` (or set REDIS_URL)';
}

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function openLazyFrontDoor(config: Config, options: LazyFrontDoorOptions = {}): LazyFrontDoor {
  const address = options.address ?? clientTemporalAddress(config);
  const temporalDown = (reason: string, cause?: unknown) =>
    new BackendUnavailableError(
      'temporal',
      address,
      startHint('temporal', config.temporal.address !== undefined),
      reason,
      { cause },
    );
  const redisDown = (reason: string, cause?: unknown) =>
    new BackendUnavailableError(
      'redis',
      config.redisUrl,
      startHint('redis', config.redisUrl !== DEFAULT_REDIS_URL),
      reason,
      { cause },
    );
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const probeTimeoutMs = Math.min(3000, connectTimeoutMs);
  let closed = false;
  let sagas: SagaClient | undefined;
  let connectingSagas: Promise<SagaClient> | undefined;
  let redis: RedisClient | undefined;
  let express: ExpressClient | undefined;

  // The sagas the front door starts: SAGALANE_SAGAS's catalog, else the built-in one (loaded on first use).
  const catalog = () => loadSagaModule(config.sagasModule).catalog;
  const connectSagas = async (): Promise<SagaClient> => {
    if (options.temporalConnection) {
      return new SagaClient(
        tracedTemporalClient({
          connection: options.temporalConnection,
          namespace: config.temporal.namespace,
        }),
        {
          taskQueue: config.temporal.taskQueue,
          ownsConnection: false,
          catalog: catalog(),
          priorityKeys: config.priorityKeys,
        },
      );
    }
    // A TCP probe first: gRPC's connect waits out its whole deadline when nothing listens, which would make every
    // command and tool call with Temporal down sit for the handshake timeout.
    const probe = await probeTcp(address, probeTimeoutMs);
    if (probe) throw temporalDown(probe);
    // A fresh lazy connection per attempt: a failed Connection memoizes its failure, and it is closed so no channel
    // keeps retrying in the background.
    const connection = Connection.lazy({
      ...connectionSettings(config.temporal, address),
      connectTimeout: connectTimeoutMs,
      interceptors: [
        makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: options.callAttempts ?? 4 })),
      ],
    });
    try {
      await connection.ensureConnected();
    } catch (err) {
      await connection.close().catch(() => undefined);
      throw temporalDown(reasonOf(err), err);
    }
    if (closed) {
      await connection.close();
      throw new Error('the front door was closed while Temporal was connecting');
    }
    // While tracing is on (the process started it from the OTEL_* variables), a start carries the caller's trace.
    const client = tracedTemporalClient({ connection, namespace: config.temporal.namespace });
    return new SagaClient(client, {
      taskQueue: config.temporal.taskQueue,
      ownsConnection: true,
      catalog: catalog(),
      priorityKeys: config.priorityKeys,
    });
  };

  return {
    async sagas() {
      if (closed) throw new Error('the front door is closed');
      if (sagas) return sagas;
      // Calls made while connecting share one attempt; a failed attempt is forgotten so the next call tries again.
      connectingSagas ??= connectSagas().finally(() => (connectingSagas = undefined));
      sagas = await connectingSagas;
      return sagas;
    },

    async express() {
      if (closed) throw new Error('the front door is closed');
      if (!redis) {
        // The producer role: no offline queue, one retry per command, so a down Redis fails a call at once; ioredis
        // keeps reconnecting in the background.
        redis = openLaneConnection(config.redisUrl, 'client', {
          connectTimeout: connectTimeoutMs,
          retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 4), 1000),
        });
        redis.on('error', () => undefined);
      }
      await untilRedisReady(redis, probeTimeoutMs, redisDown);
      if (!express) {
        express = new ExpressClient({
          types: options.taskSchemas ?? DEFAULT_TASK_SCHEMAS,
          connection: redis,
          // The URL is still needed: result waits open a subscriber connection of their own.
          redisUrl: config.redisUrl,
          keyPrefix: config.keyPrefix,
        });
        options.onExpressClient?.(express);
      }
      return express;
    },

    async close() {
      closed = true;
      const pending = connectingSagas?.catch(() => undefined);
      await Promise.allSettled([sagas?.close(), pending?.then((s) => s?.close()), express?.close()]);
      redis?.disconnect();
    },
  };
}

/**
 * The door's clients for code written against `{ sagas, express }` (the MCP server): each method call first asks the
 * door for its client, so nothing connects until a call needs it and a down backend fails that call with a
 * BackendUnavailableError. Only method calls are supported (every client method used through it is async).
 */
export function clientsOnDemand(door: LazyFrontDoor): { sagas: SagaClient; express: ExpressClient } {
  const onDemand = <T extends object>(open: () => Promise<T>): T =>
    new Proxy({} as T, {
      get(_target, prop) {
        // Not a thenable: `await clients.sagas` must not call into the client.
        if (typeof prop === 'symbol' || prop === 'then') return undefined;
        return async (...args: unknown[]) => {
          const client = await open();
          const method = (client as Record<string, unknown>)[prop];
          if (typeof method !== 'function') throw new TypeError(`${prop} is not a method of the client`);
          return (method as (...a: unknown[]) => unknown).apply(client, args);
        };
      },
    });
  return { sagas: onDemand(() => door.sagas()), express: onDemand(() => door.express()) };
}

/**
 * Resolves when the connection is ready. A connection waiting for its next reconnect attempt (its last one failed)
 * fails at once; one never connected or connecting now gets `timeoutMs` to become ready.
 */
async function untilRedisReady(
  redis: RedisClient,
  timeoutMs: number,
  down: (reason: string, cause?: unknown) => BackendUnavailableError,
): Promise<void> {
  const status = redis.status;
  if (status === 'ready') {
    // ioredis still says `ready` for a moment after the server went away; a command would fail on the dead socket.
    // (A Cluster has no one socket; its per-node connections reconnect and re-route by themselves.)
    if (isCluster(redis) || redis.stream?.writable !== false) return;
    throw down('the connection was just lost; reconnecting');
  }
  if (status === 'reconnecting') throw down('the last connection attempt failed; reconnecting');
  if (status === 'end' || status === 'close') throw down(`connection ${status}`);
  await new Promise<void>((resolve, reject) => {
    const done = (err?: BackendUnavailableError) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      redis.off('end', onEnd);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const onError = (err: Error) => done(down(reasonOf(err), err));
    const onEnd = () => done(down('connection closed'));
    const timer = setTimeout(() => done(down(`no answer within ${timeoutMs} ms`)), timeoutMs);
    redis.once('ready', onReady);
    redis.once('error', onError);
    redis.once('end', onEnd);
    if (status === 'wait') redis.connect().catch(() => undefined);
  });
}

/**
 * Maps a connection error raised by an open client to the named error: Temporal's UNAVAILABLE (gRPC 14) and the
 * saga client's TemporalUnavailableError to backend `temporal`, the lane's RedisUnavailableError and ioredis
 * connection errors to `redis`. `undefined` for anything else (a real failure the caller reports as it is).
 *
 * `known` supplies the addresses when the error itself does not carry one (a raw gRPC status does not).
 */
export function isBackendDown(
  err: unknown,
  known: { temporalAddress?: string; redisUrl?: string } = {},
): BackendUnavailableError | undefined {
  if (err instanceof BackendUnavailableError) return err;
  const temporal = (address: string | undefined) =>
    new BackendUnavailableError(
      'temporal',
      address ?? addressIn(err) ?? 'the configured address',
      startHint('temporal', false),
      reasonOf(err),
      { cause: err },
    );
  if (err instanceof TemporalUnavailableError) return temporal(err.address);
  if (err instanceof RedisUnavailableError)
    return new BackendUnavailableError('redis', err.url, startHint('redis', false), reasonOf(err), {
      cause: err,
    });
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e) && (e.code === 14 || e.code === 4)) return temporal(known.temporalAddress);
    if (e instanceof Error && /Failed to connect (to Temporal server|before the deadline)/.test(e.message))
      return temporal(known.temporalAddress);
  }
  if (isConnectionError(err))
    return new BackendUnavailableError(
      'redis',
      known.redisUrl ?? addressIn(err) ?? 'the configured address',
      startHint('redis', false),
      reasonOf(err),
      { cause: err },
    );
  return undefined;
}

/** `undefined` when `host:port` accepts a TCP connection within `timeoutMs`, else why not. */
function probeTcp(address: string, timeoutMs: number): Promise<string | undefined> {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!m) return Promise.resolve(undefined); // not host:port (a dns:/// target): let gRPC resolve it
  return new Promise((resolve) => {
    const socket = net.connect({ host: m[1]!, port: Number(m[2]) });
    const done = (reason: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => done(`no TCP answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(undefined));
    socket.once('error', (err) => done(err.message));
  });
}

function reasonOf(err: unknown): string {
  let e: unknown = err;
  // The innermost message says most (the SDK wraps "connect ECONNREFUSED …" in "Failed to connect …").
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return String((e as Error)?.message ?? e)
    .split('\n')[0]!
    .slice(0, 300);
}

function addressIn(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const m = /(?:ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ECONNRESET)\s+(\S+:\d+)/.exec(
      String((e as Error).message),
    );
    if (m) return m[1];
  }
  return undefined;
}

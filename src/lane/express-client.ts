/**
 * The producer side of the express lane: validates a submission against its task type's schema, enqueues it
 * atomically (idempotency key + task record + stream entry in one script), reads task state, waits for results
 * through a pub/sub completion channel (no polling), and manages dead letters. Per-lane statistics: lane-stats.ts.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Context } from '@opentelemetry/api';
import { z } from 'zod';
import {
  BacklogBytesFullError,
  BacklogFullError,
  IdempotencyConflictError,
  InvalidPayloadError,
  LaneOptionsError,
  NotReplicatedError,
  PayloadTooLargeError,
  RedisUnavailableError,
  TaskWaitTimeoutError,
  UnknownTaskTypeError,
} from './errors';
import { DEFAULT_GROUP, LaneKeys, LANES, streamTagOfTaskId, taskIdOfType, type Lane } from './keys';
import {
  parseDeadLetterId,
  PartitionChooser,
  partitionTag,
  partitionTags,
  qualifiedDeadLetterId,
} from './partitions';
import { submitTraceContext } from './lane-tracing';
import { isCluster, isConnectionError, openLaneConnection, type RedisClient } from './redis-connections';
import { isOutOfMemoryError, RedisOutOfMemoryError } from './redis-full';
import {
  REPLAY_DEAD,
  runScript,
  SUBMIT,
  SUBMIT_BACKLOG_BYTES_FULL,
  SUBMIT_BACKLOG_FULL,
  SUBMIT_KEY_CONFLICT,
  SUBMIT_TRACED,
} from './scripts';
import { MAX_TIMEOUT_MS, TaskTypeRegistry, type TaskSchema } from './task-types';

export { collectLaneStats, type LaneStats } from './lane-stats';
export type { DeadLetter, TaskInfo, TaskStatus } from './task-records';
import {
  DEFAULT_TASK_LIFETIME_MS,
  toDeadLetter,
  toTaskInfo,
  type DeadLetter,
  type TaskInfo,
} from './task-records';
import { collectLaneStats, type LaneStats } from './lane-stats';

export interface SubmitRequest {
  type: string;
  /** @defaultValue the type's `defaults.lane` */
  lane?: Lane;
  payload: unknown;
  /** A repeated key (per type, within `idempotencyTtlMs`) returns the first task's id and enqueues nothing. */
  idempotencyKey?: string;
  /** @defaultValue the type's `defaults.maxAttempts` */
  maxAttempts?: number;
  /** @defaultValue the type's `defaults.timeoutMs` */
  timeoutMs?: number;
  /**
   * Resolve only once a replica holds the task (`WAIT` on the master that took the write), so it survives a
   * failover; rejects with NotReplicatedError otherwise (the task is enqueued, but may be lost with its master).
   * Needs a Redis with replicas. @defaultValue false
   */
  durable?: boolean;
  /** What the task's lane spans continue while tracing is on (lane-tracing.ts). @defaultValue the active context */
  parentContext?: Context;
}

export interface ExpressClientOptions {
  /** Task types (or their schema-only parts) this client may submit. */
  types: Iterable<TaskSchema> | TaskTypeRegistry<TaskSchema>;
  /**
   * Redis URL (`redis+cluster://host:port,…` for a Redis Cluster); ignored when `connection` is given.
   * @defaultValue 'redis://127.0.0.1:6379'
   */
  redisUrl?: string;
  /** An existing connection to use (not closed by `close()`). Should have `enableOfflineQueue: false`. */
  connection?: RedisClient;
  /** Prefix of every key. @defaultValue 'sagalane' */
  keyPrefix?: string;
  /** Consumer group name, read by `stats()`. @defaultValue 'sagalane-workers' */
  group?: string;
  /**
   * Validated for compatibility only: how long finished records and idempotency keys are kept is the worker's
   * `retentionMs`, counted from the task's end. @defaultValue 86400000 (24 h)
   */
  retentionMs?: number;
  /**
   * How long a live task's record and idempotency key last from submit without renewal (the workers' record check
   * renews them while the task is queued or running). Use the workers' value. @defaultValue 604800000 (7 days)
   */
  taskLifetimeMs?: number;
  /** How long a submit waits for a connection that is still being established. @defaultValue 2000 */
  connectWaitMs?: number;
  /** How long a `durable` submit waits for a replica to acknowledge its write. @defaultValue 1000 */
  durableWaitMs?: number;
}

const submitSchema = z.object({
  type: z.string().min(1),
  lane: z.enum(LANES).optional(),
  payload: z.unknown(),
  idempotencyKey: z.string().min(1).max(256).optional(),
  maxAttempts: z.number().int().min(1).max(100).optional(),
  // A Node timer fires at once past 2^31 - 1 ms: a longer timeout would end every run after ~1 ms.
  timeoutMs: z.number().int().positive().max(MAX_TIMEOUT_MS).optional(),
  durable: z.boolean().optional(),
});

/** Tasks per SUBMIT script call: big enough to amortise the call, small enough to keep Redis responsive. */
const SUBMIT_CHUNK = 100;

interface PreparedSubmit {
  type: string;
  /** The stream partition's hash tag (the type's name for partition 0). */
  tag: string;
  lane: Lane;
  taskId: string;
  payload: string;
  maxAttempts: number;
  timeoutMs: number;
  idempotencyKey?: string;
  durable: boolean;
  /** The submitter's trace context (tracing on and a span in the parent context), written as `tp` / `ts`. */
  trace?: ReturnType<typeof submitTraceContext>;
}

export interface ExpressClientEvents {
  'task:submitted': [{ type: string; lane: Lane; taskId: string }];
}

export class ExpressClient extends EventEmitter<ExpressClientEvents> {
  readonly keys: LaneKeys;
  private readonly registry: TaskTypeRegistry<TaskSchema>;
  private readonly redis: RedisClient;
  private readonly ownsConnection: boolean;
  private readonly url: string;
  private readonly group: string;
  private readonly connectWaitMs: number;
  private readonly lifetimeSec: number;
  private readonly durableWaitMs: number;
  private readonly partitions = new PartitionChooser();
  private subscriber?: RedisClient;
  private readonly subscribed = new Map<string, Promise<unknown>>();
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(opts: ExpressClientOptions) {
    super();
    this.registry =
      opts.types instanceof TaskTypeRegistry ? opts.types : new TaskTypeRegistry<TaskSchema>(opts.types);
    this.keys = new LaneKeys(opts.keyPrefix ?? 'sagalane');
    this.group = opts.group ?? DEFAULT_GROUP;
    const retentionMs = opts.retentionMs ?? 86_400_000;
    if (!Number.isInteger(retentionMs) || retentionMs < 1000)
      throw new LaneOptionsError('retentionMs must be an integer >= 1000');
    const lifetimeMs = opts.taskLifetimeMs ?? DEFAULT_TASK_LIFETIME_MS;
    if (!Number.isInteger(lifetimeMs) || lifetimeMs < 60_000)
      throw new LaneOptionsError('taskLifetimeMs must be an integer >= 60000');
    this.lifetimeSec = Math.ceil(lifetimeMs / 1000);
    this.connectWaitMs = opts.connectWaitMs ?? 2000;
    this.durableWaitMs = opts.durableWaitMs ?? 1000;
    if (!Number.isInteger(this.durableWaitMs) || this.durableWaitMs < 1)
      throw new LaneOptionsError('durableWaitMs must be a positive integer');
    this.url = opts.redisUrl ?? 'redis://127.0.0.1:6379';
    this.ownsConnection = !opts.connection;
    this.redis = opts.connection ?? openLaneConnection(this.url, 'client');
    this.redis.on('error', () => undefined); // surfaced per call as RedisUnavailableError
  }

  /**
   * Validates and enqueues a task. Throws UnknownTaskTypeError, InvalidPayloadError, PayloadTooLargeError,
   * BacklogFullError (the lane holds `defaults.maxBacklog` tasks), IdempotencyConflictError (the key was used for
   * another payload), RedisUnavailableError.
   */
  async submit(request: SubmitRequest): Promise<{ taskId: string }> {
    const [result] = await this.enqueue([this.prepare(request)]);
    return result!;
  }

  /**
   * Validates every request first (one invalid request rejects the call and enqueues nothing), then enqueues them
   * with one script call per stream and chunk of 100 instead of one per task. Results are in request order. A
   * chunk refused for its backlog (BacklogFullError) enqueues nothing, but chunks before it may have been accepted.
   */
  async submitMany(requests: SubmitRequest[]): Promise<{ taskId: string }[]> {
    return this.enqueue(requests.map((r) => this.prepare(r)));
  }

  /** Validation and defaults of one submission (throws the submit errors); nothing touches Redis. */
  private prepare(request: SubmitRequest): PreparedSubmit {
    const req = submitSchema.safeParse(request);
    if (!req.success) throw new LaneOptionsError(`Invalid submit request: ${z.prettifyError(req.error)}`);
    const { type, idempotencyKey } = req.data;
    const taskType = this.registry.get(type);
    if (!taskType) throw new UnknownTaskTypeError(type, this.registry.names());
    // Size first: a huge payload is refused before any schema work on it.
    const rawBytes = Buffer.byteLength(JSON.stringify(request.payload ?? null) ?? '');
    if (rawBytes > taskType.defaults.maxPayloadBytes)
      throw new PayloadTooLargeError(type, rawBytes, taskType.defaults.maxPayloadBytes);
    const parsed = taskType.schema.safeParse(request.payload);
    if (!parsed.success) {
      throw new InvalidPayloadError(
        type,
        parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`),
      );
    }
    const payload = JSON.stringify(parsed.data ?? null);
    const bytes = Buffer.byteLength(payload);
    if (bytes > taskType.defaults.maxPayloadBytes)
      throw new PayloadTooLargeError(type, bytes, taskType.defaults.maxPayloadBytes);
    const lane = req.data.lane ?? taskType.defaults.lane;
    const tag = partitionTag(
      type,
      this.partitions.choose(type, taskType.defaults.partitions, idempotencyKey),
    );
    return {
      type,
      lane,
      tag,
      taskId: `${tag}:${randomUUID()}`,
      payload,
      maxAttempts: req.data.maxAttempts ?? taskType.defaults.maxAttempts,
      timeoutMs: req.data.timeoutMs ?? taskType.defaults.timeoutMs,
      idempotencyKey,
      durable: req.data.durable ?? false,
      trace: submitTraceContext(request.parentContext),
    };
  }

  /** Enqueues prepared submissions: grouped by stream (request order kept within each), chunked, pipelined. */
  private async enqueue(prepared: PreparedSubmit[]): Promise<{ taskId: string }[]> {
    const results: { taskId: string }[] = new Array<{ taskId: string }>(prepared.length);
    const byStream = new Map<string, number[]>();
    prepared.forEach((p, i) => {
      const key = this.keys.stream(p.tag, p.lane);
      const list = byStream.get(key);
      if (list) list.push(i);
      else byStream.set(key, [i]);
    });
    await this.ready();
    const submittedAt = Date.now();
    const calls: Promise<void>[] = [];
    for (const [stream, indexes] of byStream) {
      for (let from = 0; from < indexes.length; from += SUBMIT_CHUNK) {
        const chunk = indexes.slice(from, from + SUBMIT_CHUNK);
        const keys = [stream];
        const first = prepared[chunk[0]!]!;
        const defaults = this.registry.get(first.type)!.defaults;
        const maxBacklog = defaults.maxBacklog;
        // One stream: type, lane and the task-key prefix are the same for every task of the call.
        const args: (string | number)[] = [
          maxBacklog,
          first.type,
          first.lane,
          submittedAt,
          this.keys.taskPrefix(first.tag),
          this.lifetimeSec,
          defaults.maxBacklogBytes,
          Math.floor(defaults.maxBacklogBytes / defaults.maxPayloadBytes),
        ];
        // SUBMIT_TRACED only when a task of the call carries trace context: untraced calls stay as they were.
        const traced = chunk.some((i) => prepared[i]!.trace !== undefined);
        for (const i of chunk) {
          const p = prepared[i]!;
          const idem = p.idempotencyKey !== undefined;
          if (idem) keys.push(this.keys.idempotency(p.tag, p.idempotencyKey!));
          args.push(p.taskId, p.payload, p.maxAttempts, p.timeoutMs, idem ? '1' : '0');
          if (traced) args.push(p.trace?.traceparent ?? '', p.trace?.tracestate ?? '');
        }
        const durable = chunk.some((i) => prepared[i]!.durable);
        const script = traced ? SUBMIT_TRACED : SUBMIT;
        calls.push(
          this.call(() => runScript(this.redis, script, keys, args)).then(async (reply) => {
            const flat = reply as (number | string)[];
            if (flat[0] === SUBMIT_BACKLOG_FULL)
              throw new BacklogFullError(first.type, first.lane, maxBacklog, Number(flat[1]));
            if (flat[0] === SUBMIT_BACKLOG_BYTES_FULL)
              throw new BacklogBytesFullError(
                first.type,
                first.lane,
                defaults.maxBacklogBytes,
                Number(flat[1]),
              );
            let at = 0;
            for (const i of chunk) {
              const p = prepared[i]!;
              const code = flat[at++];
              if (code === 1) {
                results[i] = { taskId: p.taskId };
                if (this.listenerCount('task:submitted'))
                  this.emit('task:submitted', { type: p.type, lane: p.lane, taskId: p.taskId });
                continue;
              }
              const firstTaskId = String(flat[at++]);
              if (code === SUBMIT_KEY_CONFLICT)
                throw new IdempotencyConflictError(p.type, p.idempotencyKey!, firstTaskId);
              results[i] = { taskId: firstTaskId };
            }
            if (durable)
              await this.awaitReplica(
                stream,
                chunk.map((i) => results[i]!.taskId),
              );
          }),
        );
      }
    }
    await Promise.all(calls);
    return results;
  }

  /**
   * WAIT 1 on the connection that made the write (on a Cluster: the connection to the stream's master, which a
   * pipeline keyed on the stream reaches; WAIT alone has no key and would go to any node).
   */
  private async awaitReplica(stream: string, taskIds: string[]): Promise<void> {
    const redis = this.redis;
    const acked = await this.call(async () => {
      if (!isCluster(redis)) return redis.wait(1, this.durableWaitMs);
      const replies = (await redis.pipeline().exists(stream).wait(1, this.durableWaitMs).exec()) ?? [];
      const [err, n] = replies[1] ?? [new Error('no reply to WAIT')];
      if (err) throw err;
      return Number(n);
    });
    if (acked < 1) throw new NotReplicatedError(taskIds, this.durableWaitMs);
  }

  /** The task's state, or `undefined` if unknown (never submitted, or expired after `retentionMs`). */
  async get(taskId: string): Promise<TaskInfo | undefined> {
    const key = this.keys.task(taskId);
    await this.ready();
    const h = (await this.call(() => this.redis.hgetall(key))) as Record<string, string>;
    if (!h.status) return undefined;
    return toTaskInfo(taskId, h);
  }

  /**
   * Waits until the task is `succeeded` or `dead` and returns it. Listens on the type's completion channel rather
   * than polling. Rejects with TaskWaitTimeoutError after `waitMs`.
   */
  async result(taskId: string, { waitMs = 30_000 }: { waitMs?: number } = {}): Promise<TaskInfo> {
    // The completion channel is the task's partition's (its id names it).
    await this.subscribe(streamTagOfTaskId(taskId));
    return this.waitForEnd(taskId, waitMs);
  }

  /**
   * `submit` then `result` in one call, with one read of the task fewer: the wait is registered before the task
   * is enqueued, so its completion message cannot come before it, and the record is read only once the task has
   * ended (`result` must read it first, in case it ended before the wait began). A repeated idempotency key waits
   * for the first task. Throws what `submit` and `result` throw.
   */
  async submitAndWait(
    request: SubmitRequest,
    { waitMs = 30_000 }: { waitMs?: number } = {},
  ): Promise<TaskInfo> {
    const prepared = this.prepare(request);
    await this.subscribe(prepared.tag);
    return this.waitForEnd(prepared.taskId, waitMs, async () => (await this.enqueue([prepared]))[0]!.taskId);
  }

  /**
   * The wait of `result` and `submitAndWait`: registers for the task's completion message, then (with `enqueue`)
   * enqueues it, and reads the record after each message, and before the first one unless this call enqueued
   * the task. Every timeout is preceded by a read, so a lost message costs time, never the outcome.
   */
  private async waitForEnd(
    taskId: string,
    waitMs: number,
    enqueue?: () => Promise<string>,
  ): Promise<TaskInfo> {
    let notified!: () => void;
    let wake = new Promise<void>((r) => (notified = r));
    const listener = () => notified();
    const set = this.waiters.get(taskId) ?? new Set();
    set.add(listener);
    this.waiters.set(taskId, set);
    const deadline = Date.now() + waitMs;
    try {
      if (enqueue) {
        const enqueuedId = await enqueue();
        // A repeated idempotency key: the first task, which may have ended long ago.
        if (enqueuedId !== taskId)
          return await this.result(enqueuedId, { waitMs: Math.max(1, deadline - Date.now()) });
      }
      // Read after subscribing, so a completion between the two cannot be missed.
      for (let read = !enqueue; ; read = true) {
        let info: TaskInfo | undefined;
        if (read) {
          info = await this.get(taskId);
          if (info && (info.status === 'succeeded' || info.status === 'dead')) return info;
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          if (!read) continue;
          throw new TaskWaitTimeoutError(taskId, waitMs, info?.status);
        }
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([wake, new Promise<void>((r) => (timer = setTimeout(r, left).unref()))]);
        clearTimeout(timer);
        wake = new Promise<void>((r) => (notified = r));
      }
    } finally {
      set.delete(listener);
      if (set.size === 0) this.waiters.delete(taskId);
    }
  }

  /** Per type and lane: stream length, pending, lag, consumers, dead letters, delayed retries. */
  async stats(types: string[] = this.registry.names()): Promise<LaneStats[]> {
    await this.ready();
    const partitionsOf = (type: string) => this.registry.get(type)?.defaults.partitions ?? 1;
    return this.call(() => collectLaneStats(this.redis, this.keys, this.group, types, partitionsOf));
  }

  /**
   * Dead letters of a type's lane, oldest first (of every partition; a letter of partition p > 0 has the id
   * `p:<entry id>`).
   */
  async deadLetters(
    type: string,
    lane: Lane,
    { count = 100, after }: { count?: number; after?: string } = {},
  ): Promise<DeadLetter[]> {
    const tags = partitionTags(type, this.knownType(type).defaults.partitions);
    await this.ready();
    const start = after ? `(${parseDeadLetterId(after).entryId}` : '-';
    const perPartition = await Promise.all(
      tags.map(async (tag, p) => {
        const rows = (await this.call(() =>
          this.redis.xrange(this.keys.deadLetters(tag, lane), start, '+', 'COUNT', count),
        )) as [string, string[]][];
        return rows.map(([id, flat]) => toDeadLetter(qualifiedDeadLetterId(p, id), flat));
      }),
    );
    if (perPartition.length === 1) return perPartition[0]!;
    const order = (l: DeadLetter) => parseDeadLetterId(l.id).entryId.split('-').map(Number);
    return perPartition
      .flat()
      .sort((a, b) => {
        const [am, as] = order(a);
        const [bm, bs] = order(b);
        return am! - bm! || as! - bs!;
      })
      .slice(0, count);
  }

  /**
   * Runs dead letters again as the same tasks (same task ids, attempt 1): `ids` of dead letters, or every dead
   * letter of the lane (up to 1,000 per call) when omitted. Each is deleted from the dead-letter stream once its
   * task is re-enqueued. Letters without a task id (malformed entries) are reported as `missing`.
   */
  async retryDead(
    type: string,
    lane: Lane,
    ids?: string[],
  ): Promise<{ retried: string[]; missing: string[] }> {
    const taskType = this.knownType(type);
    await this.ready();
    const letters = ids
      ? await Promise.all(
          ids.map(async (id) => {
            const { partition, entryId } = parseDeadLetterId(id);
            if (partition >= taskType.defaults.partitions) return { id, taskId: '' };
            const rows = (await this.call(() =>
              this.redis.xrange(this.keys.deadLetters(partitionTag(type, partition), lane), entryId, entryId),
            )) as [string, string[]][];
            return rows[0] ? toDeadLetter(id, rows[0][1]) : { id, taskId: '' };
          }),
        )
      : await this.deadLetters(type, lane, { count: 1000 });
    const retried: string[] = [];
    const missing: string[] = [];
    for (const l of letters) {
      const { partition, entryId } = parseDeadLetterId(l.id);
      const tag = partitionTag(type, partition);
      // A letter naming another type's (or partition's) task: its record lives in another Cluster slot.
      if (!l.taskId || !taskIdOfType(l.taskId, tag)) {
        missing.push(l.id);
        continue;
      }
      const ok = await this.call(() =>
        runScript(
          this.redis,
          REPLAY_DEAD,
          [this.keys.deadLetters(tag, lane), this.keys.stream(tag, lane), this.keys.task(l.taskId)],
          [
            entryId,
            l.taskId,
            type,
            lane,
            taskType.defaults.maxAttempts,
            taskType.defaults.timeoutMs,
            Date.now(),
          ],
        ),
      );
      (ok === 1 ? retried : missing).push(ok === 1 ? l.taskId : l.id);
    }
    return { retried, missing };
  }

  /** Deletes dead letters (`ids`, or every dead letter of the lane); returns how many went. */
  async purgeDead(type: string, lane: Lane, ids?: string[]): Promise<number> {
    const tags = partitionTags(type, this.knownType(type).defaults.partitions);
    await this.ready();
    let purged = 0;
    for (const [p, tag] of tags.entries()) {
      const key = this.keys.deadLetters(tag, lane);
      if (ids) {
        const mine = ids.map(parseDeadLetterId).filter((d) => d.partition === p);
        if (mine.length) purged += await this.call(() => this.redis.xdel(key, ...mine.map((d) => d.entryId)));
        continue;
      }
      purged += await this.call(() => this.redis.xlen(key));
      await this.call(() => this.redis.del(key));
    }
    return purged;
  }

  private knownType(type: string): TaskSchema {
    const t = this.registry.get(type);
    if (!t) throw new UnknownTaskTypeError(type, this.registry.names());
    return t;
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    if (this.ownsConnection) this.redis.disconnect();
  }

  private async subscribe(type: string): Promise<void> {
    if (!this.subscriber) {
      this.subscriber = openLaneConnection(this.url, 'subscriber', { lazyConnect: false });
      this.subscriber.on('error', () => undefined);
      // A message carries the comma-separated ids of the tasks one worker finished together.
      const onMessage = (_channel: string, taskIds: string) => {
        for (const taskId of taskIds.split(',')) for (const wake of this.waiters.get(taskId) ?? []) wake();
      };
      // On a Cluster the workers SPUBLISH (sharded pub/sub): the messages arrive as `smessage`.
      this.subscriber.on(isCluster(this.subscriber) ? 'smessage' : 'message', onMessage);
    }
    const subscriber = this.subscriber;
    const channel = this.keys.completions(type);
    let subscribing = this.subscribed.get(channel);
    if (!subscribing) {
      subscribing = isCluster(subscriber) ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel);
      this.subscribed.set(channel, subscribing);
      subscribing.catch(() => this.subscribed.delete(channel));
    }
    await subscribing;
  }

  /** Connects on first use; while Redis is down it fails fast instead of queueing. */
  private connecting?: Promise<void>;

  private async ready(): Promise<void> {
    const status = this.redis.status;
    if (status === 'ready') return;
    // One wait shared by every call made while connecting (a burst of submits must not add a listener each).
    this.connecting ??= this.waitForReady(status).finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async waitForReady(status: string): Promise<void> {
    if (status === 'wait') {
      this.redis.connect().catch(() => undefined);
    } else if (status !== 'connecting' && status !== 'connect') {
      throw new RedisUnavailableError(this.url, `connection ${status}`);
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.redis.off('ready', onReady);
        reject(new RedisUnavailableError(this.url, `no connection within ${this.connectWaitMs} ms`));
      }, this.connectWaitMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.redis.once('ready', onReady);
    });
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isConnectionError(err)) throw new RedisUnavailableError(this.url, (err as Error).message);
      if (isOutOfMemoryError(err)) throw new RedisOutOfMemoryError('a lane write (submit, replay or purge)');
      throw err;
    }
  }
}

/**
 * The consumer side of the express lane. One process = one consumer in the shared group of each served type.
 *
 * - Reads each lane with batched, blocking XREADGROUP on its own connection; buffered express entries always start
 *   before standard ones (strict priority).
 * - Keeps `expressReserve` slots that standard tasks may not use.
 * - Stores each outcome and acknowledges in one Lua script; failures retry with exponential backoff through a
 *   delayed set, and end in a dead-letter stream after `maxAttempts`.
 * - Keeps its in-flight entries alive (XCLAIM … JUSTID by the owner) so a short `minIdleMs` only flags dead
 *   consumers; a janitor XAUTOCLAIMs orphans and dead-letters entries delivered more than `maxDeliveries` times.
 * - An autoscaler moves concurrency between min and max from the observed p95 latency and the backlog.
 */
import { EventEmitter } from 'node:events';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type Redis from 'ioredis';
import { createLogger, type Logger } from '../logger';
import { TaskTimeoutError, UnrecoverableTaskError } from './errors';
import { LaneKeys, LANES, type Lane } from './keys';
import { isConnectionError, openLaneConnection } from './redis-connections';
import { COMPLETE, DEAD_LETTER, HAND_BACK, KEEPALIVE, PROMOTE, RETRY, runScript, START } from './scripts';
import { readGroupInfo } from './stream-info';
import type { TaskType } from './task-types';
import { decideConcurrency, LatencyWindow } from './autoscaler';
import {
  resolveWorkerOptions,
  type ExpressWorkerOptions,
  type ResolvedWorkerOptions,
} from './worker-options';

export type { ExpressWorkerOptions } from './worker-options';

export interface ExpressWorkerEvents {
  'task:started': [{ type: string; lane: Lane; waitMs: number }];
  'task:succeeded': [{ type: string; lane: Lane; waitMs: number; runMs: number }];
  'task:retried': [{ type: string; lane: Lane; attempt: number; error: string }];
  'task:dead': [{ type: string; lane: Lane; reason: string }];
  'orphans:reclaimed': [{ type: string; lane: Lane; count: number }];
  'ack:failed': [{ type: string; lane: Lane; error: string }];
  autoscale: [{ from: number; to: number; reason: string; p95Ms: number; backlog: number }];
}

interface StreamRef {
  key: string;
  type: TaskType;
  lane: Lane;
}

interface Entry {
  stream: StreamRef;
  id: string;
  fields: Record<string, string>;
}

type Fields = Record<string, string>;

/** A successful run's outcome, as COMPLETE stores it. */
interface Completion {
  entryId: string;
  taskId: string;
  taskKey: string;
  resultJson: string;
  finishedAt: number;
  startedAt: number;
  attempt: number;
}

interface PendingStart {
  type: string;
  taskKey: string;
  attempt: number;
  startedAt: number;
}

interface RunningTask {
  entry: Entry;
  abort: LazyAbort;
  done: Promise<void>;
  /** The handler has settled: the task no longer holds a slot, only its outcome write is outstanding. */
  handlerDone: boolean;
}

/**
 * Outcome writes in flight, per slot, beyond which reading pauses: enough for a batch's writes to overlap the next
 * batches' reads and runs, but bounded, so a Redis stall cannot pile up unwritten outcomes.
 */
const MAX_SETTLING_PER_SLOT = 3;

/** Handlers averaging at most this long get a read-ahead batch (see `readAhead`). */
const READ_AHEAD_MAX_RUN_MS = 5;

const DEAD_REASONS = {
  malformed: 'malformed-entry',
  invalidPayload: 'invalid-payload',
  attempts: 'max-attempts',
  unrecoverable: 'unrecoverable',
  deliveries: 'max-deliveries',
} as const;

export class ExpressWorker extends EventEmitter<ExpressWorkerEvents> {
  readonly options: ResolvedWorkerOptions;
  readonly keys: LaneKeys;
  private readonly log: Logger;
  private readonly streams: StreamRef[];
  private readonly byKey = new Map<string, StreamRef>();
  private readonly streamsByLane: Record<Lane, StreamRef[]>;
  private cmd!: Redis;
  private readers: Redis[] = [];
  private running = false;
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private currentConcurrency: number;
  private readonly buffered: Record<Lane, Entry[]> = { express: [], standard: [] };
  private readonly inFlightByLane: Record<Lane, number> = { express: 0, standard: 0 };
  /** Entries this consumer holds (buffered or running), per stream key: what keepalive re-claims. */
  private readonly held = new Map<string, Set<string>>();
  /** Every task from dispatch until its outcome is stored (or it is handed back). */
  private readonly running_ = new Map<string, RunningTask>();
  /**
   * Tasks whose handler has finished but whose outcome write has not landed yet. They no longer hold a slot (so
   * the next read overlaps the write, instead of waiting a round trip for it), but at most `concurrency` of them
   * may be outstanding: during a Redis stall reading stops instead of piling up unwritten outcomes.
   */
  private settling = 0;
  /** Entries asked for by reads still outstanding, per lane (each lane has two read loops). */
  private readonly requested: Record<Lane, number> = { express: 0, standard: 0 };
  /**
   * Moving average of handler run time: decides whether reading ahead pays. Starts just above the threshold, so a
   * fresh worker does not grab a second batch of what may be long tasks; two fast runs are enough to turn it on.
   */
  private avgRunMs = READ_AHEAD_MAX_RUN_MS + 1;
  private readonly wakeWaiters = new Set<() => void>();
  /** `running` writes not sent yet, by task id; a task that finishes first carries its start in its completion. */
  private readonly pendingStarts = new Map<string, PendingStart>();
  private startFlushQueued = false;
  private readonly completeBatches = new Map<
    string,
    {
      stream: StreamRef;
      items: (Completion & { resolve: () => void; reject: (err: unknown) => void })[];
    }
  >();
  private completeFlushQueued = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly latencies = new LatencyWindow();
  private janitorBusy = false;

  constructor(options: ExpressWorkerOptions) {
    super();
    this.options = resolveWorkerOptions(options);
    this.keys = new LaneKeys(this.options.keyPrefix);
    this.log = (this.options.logger ?? createLogger()).child({
      component: 'express-worker',
      consumer: this.options.consumerName,
    });
    this.streams = this.options.types.flatMap((type) =>
      LANES.map((lane) => ({ key: this.keys.stream(type.name, lane), type, lane })),
    );
    this.streamsByLane = {
      express: this.streams.filter((s) => s.lane === 'express'),
      standard: this.streams.filter((s) => s.lane === 'standard'),
    };
    for (const s of this.streams) {
      this.byKey.set(s.key, s);
      this.held.set(s.key, new Set());
    }
    this.currentConcurrency =
      this.options.autoscaleIntervalMs > 0 ? this.options.concurrency.min : this.options.concurrency.max;
  }

  /** Current concurrency limit (moved by the autoscaler). */
  get concurrency(): number {
    return this.currentConcurrency;
  }
  /** Handlers running right now. */
  get inFlight(): number {
    return this.inFlightByLane.express + this.inFlightByLane.standard;
  }
  get consumerName(): string {
    return this.options.consumerName;
  }

  /** Connects, creates the consumer groups, and starts reading. Resolves once the worker is consuming. */
  async start(): Promise<void> {
    if (this.running) throw new Error('ExpressWorker already started');
    this.running = true;
    const o = this.options;
    this.cmd = o.connection ?? openLaneConnection(o.redisUrl, 'worker-commands');
    this.readers = LANES.map((lane) =>
      openLaneConnection(o.redisUrl, 'worker-reader', { connectionName: `sagalane-reader-${lane}` }),
    );
    for (const [name, conn] of [
      ['commands', this.cmd] as const,
      ...this.readers.map((r, i) => [`reader-${LANES[i]}`, r] as const),
    ]) {
      conn.on('error', (err: Error) =>
        this.log.warn(`redis ${name} connection error`, { error: err.message }),
      );
    }
    if (this.cmd.status === 'wait') await this.cmd.connect();
    await Promise.all(this.readers.map((r) => r.connect()));
    await this.ensureGroups();
    // Two loops per lane share its connection: while one batch runs, the next read is already on its way.
    this.loopDone = Promise.all(
      LANES.flatMap((lane, i) => [
        this.readLoop(lane, this.readers[i]!),
        this.readLoop(lane, this.readers[i]!),
      ]),
    ).then(() => undefined);
    this.every(o.keepaliveIntervalMs, () => this.keepAlive());
    this.every(o.janitorIntervalMs, () => this.janitor());
    if (o.autoscaleIntervalMs > 0) this.every(o.autoscaleIntervalMs, () => this.autoscale());
    this.log.info('express worker started', {
      types: o.types.map((t) => t.name),
      concurrency: o.concurrency,
      minIdleMs: o.minIdleMs,
    });
  }

  /**
   * Graceful stop: stops reading, hands buffered entries back, waits up to `drainTimeoutMs` for running handlers,
   * then aborts and hands back the rest, and closes the connections.
   */
  async stop(): Promise<void> {
    if (!this.running || this.stopping) return this.loopDone;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.wake();
    // Blocked reads end with their connections; what they might have fetched stays pending and is reclaimed.
    for (const r of this.readers) r.disconnect();
    await this.loopDone;
    for (const lane of LANES) {
      for (const entry of this.buffered[lane].splice(0)) await this.handBack(entry);
    }
    const running = [...this.running_.values()];
    let drainTimer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.all(running.map((r) => r.done)).then(() => true),
      new Promise<boolean>((r) => (drainTimer = setTimeout(() => r(false), this.options.drainTimeoutMs))),
    ]);
    clearTimeout(drainTimer);
    if (!drained) {
      // A task whose handler finished is only waiting for its outcome write: handing it back would run it again.
      const left = [...this.running_.values()].filter((r) => !r.handlerDone);
      this.log.warn('drain limit reached; handing back unfinished tasks', { count: left.length });
      for (const r of left) {
        r.abort.abort(new Error('worker shutting down'));
        await this.handBack(r.entry);
      }
    }
    if (!this.options.connection) await this.cmd.quit().catch(() => this.cmd.disconnect());
    this.log.info('express worker stopped', { drained });
  }

  // ---------------------------------------------------------------- reading

  private async ensureGroups(): Promise<void> {
    for (const s of this.streams) {
      try {
        // Id 0: entries submitted before any worker existed are served too.
        await this.cmd.call('XGROUP', 'CREATE', s.key, this.options.group, '0', 'MKSTREAM');
      } catch (err) {
        if (!/BUSYGROUP/.test((err as Error).message)) throw err;
      }
    }
  }

  private standardCapacity(): number {
    return Math.max(1, this.currentConcurrency - this.options.expressReserve);
  }

  /**
   * Read-ahead allowed on top of the free slots: one batch (`concurrency` entries) while handlers are fast, so the
   * next read overlaps the current batch instead of Redis and Node taking turns; none for slow handlers, whose
   * entries are better left in the stream for other consumers.
   */
  private readAhead(): number {
    return this.avgRunMs <= READ_AHEAD_MAX_RUN_MS ? this.currentConcurrency : 0;
  }

  /** Entries this lane may still read, net of what is running, buffered, or already asked for by its other loop. */
  private room(lane: Lane): number {
    if (this.settling >= MAX_SETTLING_PER_SLOT * this.currentConcurrency) return 0;
    const ahead = this.readAhead();
    const free =
      this.currentConcurrency +
      ahead -
      this.inFlight -
      this.buffered.express.length -
      this.buffered.standard.length -
      this.requested[lane];
    if (lane === 'express') return free;
    const standardAhead = ahead > 0 ? this.standardCapacity() : 0;
    return Math.min(
      free,
      this.standardCapacity() +
        standardAhead -
        this.inFlightByLane.standard -
        this.buffered.standard.length -
        this.requested.standard,
    );
  }

  /**
   * One loop per lane, each with its own blocking connection. The express loop may use every free slot; the
   * standard loop only slots outside the express reserve, and dispatch always starts buffered express entries
   * first. So an express task never waits behind standard ones, without interrupting blocked reads.
   */
  private async readLoop(lane: Lane, reader: Redis): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        // Completions of one pipelined reply resolve in the same tick: yielding once lets them all free their
        // slots, so the next read fetches a batch instead of one entry per completion.
        await yieldToEventLoop();
        if (this.stopping) break;
        this.dispatch();
        const room = this.room(lane);
        if (room <= 0) {
          await this.waitForWake();
          continue;
        }
        this.requested[lane] += room;
        try {
          await this.read(reader, lane, room, this.options.blockMs);
        } finally {
          this.requested[lane] -= room;
          this.wake(); // the lane's other loop may read now
        }
        failures = 0;
      } catch (err) {
        if (this.stopping) break;
        const msg = (err as Error).message;
        if (/NOGROUP/.test(msg)) {
          this.log.warn('consumer group missing (Redis lost its data?); recreating', { error: msg });
          await this.ensureGroups().catch(() => undefined);
          continue;
        }
        failures++;
        if (failures === 1 || failures % 20 === 0)
          this.log.warn('read failed; retrying', {
            lane,
            error: msg,
            failures,
            connection: isConnectionError(err),
          });
        await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** Math.min(failures, 5), 1000)));
      }
    }
  }

  /** One XREADGROUP over the lane's streams; entries go to the lane buffer. */
  private async read(reader: Redis, lane: Lane, count: number, blockMs: number): Promise<void> {
    const streams = this.streamsByLane[lane];
    const reply = (await reader.call(
      'XREADGROUP',
      'GROUP',
      this.options.group,
      this.options.consumerName,
      'COUNT',
      count,
      'BLOCK',
      blockMs,
      'STREAMS',
      ...streams.map((s) => s.key),
      ...streams.map(() => '>'),
    )) as [string, [string, string[] | null][]][] | null;
    if (!reply) return;
    for (const [key, items] of reply) {
      const stream = this.byKey.get(key);
      if (!stream) continue;
      for (const [id, flat] of items) {
        this.hold(stream, id);
        this.buffered[stream.lane].push({ stream, id, fields: toFields(flat) });
      }
    }
    this.dispatch();
  }

  private waitForWake(): Promise<void> {
    // stop() wakes the waiters once; a loop that comes here after that (it was between its yield and this wait)
    // must not wait forever, or stop() never returns.
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => this.wakeWaiters.add(resolve));
  }

  /** Lets waiting read loops re-evaluate their room (a slot freed, capacity changed, or stopping). */
  private wake(): void {
    if (this.wakeWaiters.size === 0) return;
    const waiters = [...this.wakeWaiters];
    this.wakeWaiters.clear();
    for (const w of waiters) w();
  }

  private hold(stream: StreamRef, id: string): void {
    this.held.get(stream.key)?.add(id);
  }
  private release(entry: Entry): void {
    this.held.get(entry.stream.key)?.delete(entry.id);
  }

  /** Starts buffered entries while slots are free: express first, standard within its capacity. */
  private dispatch(): void {
    while (this.inFlight < this.currentConcurrency && this.buffered.express.length) {
      this.run(this.buffered.express.shift()!);
    }
    while (
      this.inFlight < this.currentConcurrency &&
      this.inFlightByLane.standard < this.standardCapacity() &&
      this.buffered.standard.length
    ) {
      this.run(this.buffered.standard.shift()!);
    }
  }

  // ---------------------------------------------------------------- running

  private run(entry: Entry): void {
    const lane = entry.stream.lane;
    this.inFlightByLane[lane]++;
    const task: RunningTask = {
      entry,
      abort: new LazyAbort(),
      done: Promise.resolve(),
      handlerDone: false,
    };
    const freeSlot = () => {
      if (task.handlerDone) return;
      task.handlerDone = true;
      this.inFlightByLane[lane]--;
      this.settling++;
      if (!this.stopping) {
        this.dispatch();
        this.wake();
      }
    };
    this.running_.set(entry.id, task);
    task.done = this.execute(entry, task.abort, freeSlot)
      .catch((err) => this.log.error('task bookkeeping failed', { error: err, entry: entry.id }))
      .finally(() => {
        freeSlot();
        this.settling--;
        this.running_.delete(entry.id);
        this.release(entry);
        if (!this.stopping) {
          this.dispatch();
          this.wake();
        }
      });
  }

  /** Runs one entry's handler and stores its outcome; calls `freeSlot` as soon as the handler has settled. */
  private async execute(entry: Entry, abort: LazyAbort, freeSlot: () => void): Promise<void> {
    const { stream, id, fields } = entry;
    const type = stream.type;
    const meta = { type: type.name, lane: stream.lane };
    const taskId = fields.id;
    const attempt = Number(fields.attempt);
    const maxAttempts = Number(fields.max);
    const timeoutMs = Number(fields.timeout);
    let payload: unknown;
    if (!taskId || !Number.isInteger(attempt) || !Number.isInteger(maxAttempts) || !(timeoutMs > 0)) {
      freeSlot();
      return this.deadLetter(entry, DEAD_REASONS.malformed, `entry ${id} lacks id/attempt/max/timeout`, 0);
    }
    let taskKey: string;
    try {
      taskKey = this.keys.task(taskId);
    } catch {
      freeSlot();
      return this.deadLetter(entry, DEAD_REASONS.malformed, `entry ${id} has no valid task id`, attempt);
    }
    try {
      payload = JSON.parse(fields.payload ?? '');
    } catch {
      freeSlot();
      return this.deadLetter(entry, DEAD_REASONS.malformed, `entry ${id} payload is not JSON`, attempt);
    }
    const parsed = type.schema.safeParse(payload);
    if (!parsed.success) {
      freeSlot();
      return this.deadLetter(entry, DEAD_REASONS.invalidPayload, parsed.error.message, attempt);
    }
    const startedAt = Date.now();
    const waitMs = Math.max(0, startedAt - entryTime(id));
    if (this.listenerCount('task:started')) this.emit('task:started', { ...meta, waitMs });
    this.markStarted(type.name, taskId, taskKey, attempt, startedAt);
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        timer = setTimeout(() => {
          const err = new TaskTimeoutError(timeoutMs);
          abort.abort(err);
          reject(err);
        }, timeoutMs);
        timer.unref();
        type
          .handler(parsed.data, {
            // A getter: the AbortController (costly to create) is only made for handlers that look at it.
            get signal() {
              return abort.signal;
            },
            taskId,
            attempt,
            progress: (info) => this.log.debug('task progress', { taskId, ...info }),
          })
          .then(resolve, reject);
      });
      clearTimeout(timer);
      freeSlot();
      if (this.stopping && abort.aborted) return; // handed back already
      const finishedAt = Date.now();
      this.avgRunMs += (finishedAt - startedAt - this.avgRunMs) / 8;
      this.takePendingStart(taskId);
      const resultJson = JSON.stringify(result ?? null);
      await this.withRetries(meta, () =>
        this.complete(stream, { entryId: id, taskId, taskKey, resultJson, finishedAt, startedAt, attempt }),
      );
      this.latencies.add(finishedAt - entryTime(id));
      if (this.listenerCount('task:succeeded'))
        this.emit('task:succeeded', { ...meta, waitMs, runMs: finishedAt - startedAt });
    } catch (err) {
      clearTimeout(timer);
      freeSlot();
      this.avgRunMs += (Date.now() - startedAt - this.avgRunMs) / 8;
      // The failure write sets the record's status and attempts; a `running` write sent after it would undo that.
      this.takePendingStart(taskId);
      if (this.stopping && abort.aborted && !(err instanceof TaskTimeoutError)) return;
      const message = errorText(err);
      if (err instanceof UnrecoverableTaskError) {
        return this.deadLetter(entry, DEAD_REASONS.unrecoverable, message, attempt);
      }
      if (attempt >= maxAttempts) return this.deadLetter(entry, DEAD_REASONS.attempts, message, attempt);
      const delay = Math.min(
        this.options.retryMaxDelayMs,
        this.options.retryBaseDelayMs * 2 ** (attempt - 1),
      );
      const retryAt = Date.now() + delay;
      const member = JSON.stringify({
        id: taskId,
        payload: fields.payload,
        attempt: String(attempt + 1),
        max: String(maxAttempts),
        timeout: String(timeoutMs),
        at: fields.at ?? String(Date.now()),
      });
      await this.withRetries(meta, () =>
        runScript(
          this.cmd,
          RETRY,
          [stream.key, this.keys.task(taskId), this.keys.delayed(type.name, stream.lane)],
          [this.options.group, id, message, attempt, retryAt, member],
        ),
      );
      this.emit('task:retried', { ...meta, attempt, error: message });
      const t = setTimeout(() => void this.promote(stream).catch(() => undefined), delay + 5);
      t.unref();
    }
  }

  /**
   * Stores a result and acknowledges its entry. Completions of the same stream within one tick share one script
   * call (and one round trip); each caller still learns whether its own write landed.
   */
  private complete(stream: StreamRef, outcome: Completion) {
    return new Promise<void>((resolve, reject) => {
      let batch = this.completeBatches.get(stream.key);
      if (!batch) {
        batch = { stream, items: [] };
        this.completeBatches.set(stream.key, batch);
      }
      batch.items.push({
        entryId: outcome.entryId,
        taskId: outcome.taskId,
        taskKey: outcome.taskKey,
        resultJson: outcome.resultJson,
        finishedAt: outcome.finishedAt,
        startedAt: outcome.startedAt,
        attempt: outcome.attempt,
        resolve,
        reject,
      });
      if (this.completeFlushQueued) return;
      this.completeFlushQueued = true;
      setImmediate(() => {
        this.completeFlushQueued = false;
        const batches = [...this.completeBatches.values()];
        this.completeBatches.clear();
        for (const { stream: s, items } of batches) {
          runScript(
            this.cmd,
            COMPLETE,
            [s.key, ...items.map((i) => i.taskKey)],
            [
              this.options.group,
              this.retentionSec(),
              this.keys.completions(s.type.name),
              ...items.flatMap((i) => [
                i.entryId,
                i.taskId,
                i.resultJson,
                i.finishedAt,
                i.startedAt,
                i.attempt,
              ]),
            ],
          ).then(
            () => items.forEach((i) => i.resolve()),
            (err: unknown) => items.forEach((i) => i.reject(err)),
          );
        }
      });
    });
  }

  /**
   * Queues the `running` status write. It is sent one macrotask later, in one script call per type for everything
   * dispatched meanwhile; a task that finished before that (most fast tasks) skips it: its completion stores the
   * start time and attempt with the result, saving two commands per task. Not awaited: it rides the command
   * connection ahead of any later outcome write.
   */
  private markStarted(
    type: string,
    taskId: string,
    taskKey: string,
    attempt: number,
    startedAt: number,
  ): void {
    this.pendingStarts.set(taskId, { type, taskKey, attempt, startedAt });
    if (this.startFlushQueued) return;
    this.startFlushQueued = true;
    setImmediate(() => {
      this.startFlushQueued = false;
      const byType = new Map<string, PendingStart[]>();
      for (const start of this.pendingStarts.values()) {
        const list = byType.get(start.type);
        if (list) list.push(start);
        else byType.set(start.type, [start]);
      }
      this.pendingStarts.clear();
      for (const starts of byType.values()) {
        runScript(
          this.cmd,
          START,
          starts.map((x) => x.taskKey),
          [starts[0]!.startedAt, ...starts.map((x) => x.attempt)],
        ).catch((err: unknown) => this.log.debug('could not mark tasks running', { error: err }));
      }
    });
  }

  /** Takes back a task's unsent `running` write (its outcome write carries the start instead). */
  private takePendingStart(taskId: string): PendingStart | undefined {
    const start = this.pendingStarts.get(taskId);
    if (start) this.pendingStarts.delete(taskId);
    return start;
  }

  private async deadLetter(entry: Entry, reason: string, error: string, attempts: number): Promise<void> {
    const { stream, id, fields } = entry;
    const taskId = fields.id ?? '';
    const keys = [stream.key, this.keys.deadLetters(stream.type.name, stream.lane)];
    let validTaskId = false;
    if (taskId) {
      try {
        keys.push(this.keys.task(taskId));
        validTaskId = true;
      } catch {
        // An id that is not ours: dead-letter the entry without touching any task record.
      }
    }
    const meta = { type: stream.type.name, lane: stream.lane };
    await this.withRetries(meta, () =>
      runScript(this.cmd, DEAD_LETTER, keys, [
        this.options.group,
        id,
        validTaskId ? taskId : '',
        reason,
        error,
        attempts,
        fields.payload ?? JSON.stringify(fields),
        Date.now(),
        this.retentionSec(),
        this.keys.completions(stream.type.name),
      ]),
    );
    this.log.warn('task dead-lettered', { taskId, entry: id, reason, error, attempts });
    this.emit('task:dead', { ...meta, reason });
  }

  private async handBack(entry: Entry): Promise<void> {
    const flat = Object.entries(entry.fields).flat();
    try {
      await runScript(
        this.cmd,
        HAND_BACK,
        [entry.stream.key, this.keys.task(entry.fields.id || `${entry.stream.type.name}:unknown`)],
        [this.options.group, entry.id, ...flat],
      );
    } catch (err) {
      // Still pending under our name: a janitor reclaims it after minIdleMs.
      this.log.warn('hand back failed; entry will be reclaimed as an orphan', {
        entry: entry.id,
        error: err,
      });
    }
    this.release(entry);
  }

  /** Outcome writes must land: retry through short outages, then leave the entry to orphan recovery. */
  private async withRetries(
    meta: { type: string; lane: Lane },
    write: () => Promise<unknown>,
  ): Promise<void> {
    const deadline = Date.now() + Math.max(this.options.minIdleMs * 6, 30_000);
    for (let i = 0; ; i++) {
      try {
        await write();
        return;
      } catch (err) {
        if (!isConnectionError(err) || Date.now() > deadline) {
          this.emit('ack:failed', { ...meta, error: errorText(err) });
          this.log.error('could not store outcome; the entry stays pending and will be redelivered', {
            error: err,
          });
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** i, 2000)));
      }
    }
  }

  private retentionSec(): number {
    return Math.ceil(this.options.retentionMs / 1000);
  }

  // ---------------------------------------------------------------- orphans, retries, autoscaling

  private every(ms: number, fn: () => Promise<void>): void {
    const t = setInterval(() => {
      fn().catch((err) => this.log.warn('background task failed', { error: (err as Error).message }));
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  /** Re-claims this consumer's held entries so their idle time stays far below minIdleMs. */
  private async keepAlive(): Promise<void> {
    await Promise.all(
      this.streams.map(async (s) => {
        const ids = [...(this.held.get(s.key) ?? [])];
        if (!ids.length) return;
        const lost = (await runScript(
          this.cmd,
          KEEPALIVE,
          [s.key],
          [this.options.group, this.options.consumerName, ...ids],
        )) as string[];
        if (lost.length) this.log.warn('in-flight entries were reclaimed by another consumer', { lost });
      }),
    );
  }

  private async promote(s: StreamRef): Promise<number> {
    return (await runScript(
      this.cmd,
      PROMOTE,
      [this.keys.delayed(s.type.name, s.lane), s.key],
      [Date.now(), 500],
    )) as number;
  }

  /** Promotes due retries and reclaims orphans (entries idle past minIdleMs: their consumer died). */
  private async janitor(): Promise<void> {
    if (this.janitorBusy || this.stopping) return;
    this.janitorBusy = true;
    try {
      for (const s of this.streams) {
        await this.promote(s);
        await this.reclaimOrphans(s);
      }
    } finally {
      this.janitorBusy = false;
    }
  }

  private async reclaimOrphans(s: StreamRef): Promise<void> {
    const o = this.options;
    const reply = (await this.cmd.call(
      'XAUTOCLAIM',
      s.key,
      o.group,
      o.consumerName,
      o.minIdleMs,
      '0-0',
      'COUNT',
      100,
    )) as [string, [string, string[] | null][], string[]?];
    const claimed = reply[1].filter(([, flat]) => flat !== null);
    const missing = reply[2] ?? [];
    if (missing.length)
      this.log.warn('pending entries no longer exist in the stream; dropped from the group', {
        ids: missing,
      });
    if (!claimed.length) return;
    // XAUTOCLAIM does not report delivery counts: read them for just these entries.
    const counts = await Promise.all(
      claimed.map(async ([id]) => {
        const p = (await this.cmd.call('XPENDING', s.key, o.group, id, id, 1)) as [
          string,
          string,
          number,
          number,
        ][];
        return p[0]?.[3] ?? 1;
      }),
    );
    let reclaimed = 0;
    for (let i = 0; i < claimed.length; i++) {
      const [id, flat] = claimed[i]!;
      const entry: Entry = { stream: s, id, fields: toFields(flat) };
      this.hold(s, id);
      // The reclaim itself counts as a delivery, so the runs so far are count - 1.
      if (counts[i]! - 1 >= o.maxDeliveries) {
        await this.deadLetter(
          entry,
          DEAD_REASONS.deliveries,
          `delivered ${counts[i]! - 1} times without finishing (its consumer died each time)`,
          Number(entry.fields.attempt) || 0,
        );
        this.release(entry);
        continue;
      }
      reclaimed++;
      this.buffered[s.lane].push(entry);
    }
    if (reclaimed) {
      this.log.info('reclaimed orphaned entries', { type: s.type.name, lane: s.lane, count: reclaimed });
      this.emit('orphans:reclaimed', { type: s.type.name, lane: s.lane, count: reclaimed });
      this.dispatch();
      this.wake();
    }
  }

  private async autoscale(): Promise<void> {
    if (this.stopping) return;
    const infos = await Promise.all(
      this.streams.map((s) => readGroupInfo(this.cmd, s.key, this.options.group)),
    );
    const lengths = await Promise.all(this.streams.map((s) => this.cmd.xlen(s.key)));
    let waiting = 0;
    let pending = 0;
    infos.forEach((info, i) => {
      const p = info?.pending ?? 0;
      pending += p;
      waiting += info?.lag ?? Math.max(0, (lengths[i] ?? 0) - p);
    });
    waiting += this.buffered.express.length + this.buffered.standard.length;
    const p95Ms = this.latencies.takeP95();
    const from = this.currentConcurrency;
    const { to, reason } = decideConcurrency({
      current: from,
      min: this.options.concurrency.min,
      max: this.options.concurrency.max,
      p95Ms,
      targetP95Ms: this.options.targetP95Ms,
      waiting,
      pending,
      inFlight: this.inFlight,
    });
    if (to === from) return;
    this.currentConcurrency = to;
    const backlog = waiting + pending;
    this.log.info('autoscale', { from, to, reason, p95Ms, backlog });
    this.emit('autoscale', { from, to, reason, p95Ms, backlog });
    if (to > from) {
      this.dispatch();
      this.wake();
    }
  }
}

/**
 * An abort switch whose AbortController is created on first use of `signal`: most handlers never look at it, and
 * creating one per task is a measurable share of the lane's per-task cost.
 */
class LazyAbort {
  private controller?: AbortController;
  private reason: unknown;
  aborted = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

function toFields(flat: string[] | null): Fields {
  const f: Fields = {};
  if (!flat) return f;
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
  return f;
}

/** Milliseconds part of a stream entry id: when Redis appended it. */
function entryTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

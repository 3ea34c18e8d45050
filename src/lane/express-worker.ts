/**
 * The consumer side of the express lane. One process = one consumer in the shared group of each served type.
 * This class wires the parts and runs each task from dispatch to stored outcome:
 *
 * - stream-reader.ts: read loops, buffers and slot counts; slot-policy.ts: the (pure) rules for them;
 * - task-execution.ts + handler-pool.ts: handlers inline or in the worker-thread pool, with timeouts;
 * - outcome-writer.ts: results, retries, dead letters, hand-backs (atomic and fenced, see scripts.ts);
 * - janitor.ts: keepalive, retry promotion, orphan reclaim, stale consumers;
 * - autoscaler.ts (pure policy) + lane-load.ts (what it samples).
 */
import { EventEmitter } from 'node:events';
import { createLogger, type Logger } from '../logger';
import { decideConcurrency, jitteredInterval, LatencyWindow, type LaneLoad } from './autoscaler';
import { DEAD_REASONS, type Entry, entryTime, priorDeliveries, type StreamRef } from './entries';
import { HandlerPools } from './handler-pool';
import { Janitor } from './janitor';
import { LaneKeys, LANES, type Lane } from './keys';
import { sampleWaitingWork } from './lane-load';
import { OutcomeWriter } from './outcome-writer';
import { partitionStreams } from './partitions';
import { openLaneConnection, type RedisClient } from './redis-connections';
import { standardCapacity } from './slot-policy';
import { StreamReader } from './stream-reader';
import { LazyAbort, TaskExecutor, type TaskFailure } from './task-execution';
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
  /** An outcome was not written because another consumer owns the entry now (this one was cut off). */
  'task:fenced': [{ type: string; lane: Lane }];
  'orphans:reclaimed': [{ type: string; lane: Lane; count: number }];
  'ack:failed': [{ type: string; lane: Lane; error: string }];
  autoscale: [{ from: number; to: number; reason: string; p95Ms: number; backlog: number }];
}

/** A task from dispatch until its outcome is stored (or it is handed back). */
interface ActiveTask {
  entry: Entry;
  abort: LazyAbort;
  done: Promise<void>;
  startedAt: number;
  /** The handler has settled: the task no longer holds a slot, only its outcome write is outstanding. */
  handlerDone: boolean;
  /** Its stream entry was deleted while it ran: it was dead-lettered, its outcome is dropped. */
  vanished: boolean;
}

export class ExpressWorker extends EventEmitter<ExpressWorkerEvents> {
  readonly options: ResolvedWorkerOptions;
  readonly keys: LaneKeys;
  private readonly log: Logger;
  private readonly streams: StreamRef[];
  private readonly reader: StreamReader;
  private readonly pools: HandlerPools;
  private readonly executor: TaskExecutor;
  private cmd!: RedisClient;
  private writer!: OutcomeWriter;
  private janitor!: Janitor;
  private readers: RedisClient[] = [];
  private started = false;
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly activeTasks = new Map<string, ActiveTask>();
  private readonly timers: NodeJS.Timeout[] = [];
  private autoscaleTimer?: NodeJS.Timeout;
  private readonly latencies = new LatencyWindow();

  constructor(options: ExpressWorkerOptions) {
    super();
    this.options = resolveWorkerOptions(options);
    const o = this.options;
    this.keys = new LaneKeys(o.keyPrefix);
    this.log = (o.logger ?? createLogger()).child({ component: 'express-worker', consumer: o.consumerName });
    // Per type, partition and lane (partitions.ts); one stream per lane for an unpartitioned type.
    this.streams = partitionStreams(this.keys, o.types);
    this.reader = new StreamReader({
      group: o.group,
      consumerName: o.consumerName,
      blockMs: o.blockMs,
      expressReserve: o.expressReserve,
      concurrency: o.autoscaleIntervalMs > 0 ? o.concurrency.min : o.concurrency.max,
      streams: this.streams,
      log: this.log,
      onEntries: () => this.dispatch(),
      onNoGroup: () => this.ensureGroups(),
    });
    this.pools = o.pools ?? new HandlerPools({ threads: o.poolThreads });
    this.executor = new TaskExecutor(this.pools, this.log);
  }

  /** Current concurrency limit (moved by the autoscaler). */
  get concurrency(): number {
    return this.reader.concurrency;
  }
  /** Handlers running right now. */
  get inFlight(): number {
    return this.reader.inFlight;
  }
  get consumerName(): string {
    return this.options.consumerName;
  }
  /** Keepalive script calls made and entries refreshed since start (0 before start). */
  get keepaliveCounts(): { calls: number; ids: number } {
    return this.janitor ? { ...this.janitor.keepaliveCounts } : { calls: 0, ids: 0 };
  }

  /** Connects, creates the consumer groups, and starts reading. Resolves once the worker is consuming. */
  async start(): Promise<void> {
    if (this.started) throw new Error('ExpressWorker already started');
    this.started = true;
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
    this.writer = new OutcomeWriter(this.cmd, this.keys, {
      group: o.group,
      consumerName: o.consumerName,
      retentionMs: o.retentionMs,
      deadLetterMaxLen: o.deadLetterMaxLen,
      minIdleMs: o.minIdleMs,
      log: this.log,
      onWriteFailed: (meta) => this.emit('ack:failed', meta),
    });
    this.janitor = new Janitor(this.cmd, this.keys, this.streams, this.reader, this.writer, {
      group: o.group,
      consumerName: o.consumerName,
      minIdleMs: o.minIdleMs,
      maxDeliveries: o.maxDeliveries,
      staleConsumerMs: o.staleConsumerMs,
      deadLetterMaxLen: o.deadLetterMaxLen,
      log: this.log,
      onHeldEntryDeleted: (e) => void this.endDeletedEntry(e.stream, e.id),
      onReclaimed: (s, count) => {
        this.emit('orphans:reclaimed', { type: s.type.name, lane: s.lane, count });
        this.dispatch();
        this.reader.wake();
      },
    });
    if (this.cmd.status === 'wait') await this.cmd.connect();
    await Promise.all(this.readers.map((r) => r.connect()));
    await this.ensureGroups();
    this.loopDone = this.reader.run(this.readers);
    this.every(o.keepaliveIntervalMs, () => this.janitor.keepAlive());
    this.every(o.janitorIntervalMs, () => (this.stopping ? Promise.resolve() : this.janitor.sweep()));
    if (o.autoscaleIntervalMs > 0) this.scheduleAutoscale();
    this.log.info('express worker started', {
      types: o.types.map((t) => t.name),
      concurrency: o.concurrency,
      expressReserve: o.expressReserve,
      minIdleMs: o.minIdleMs,
    });
  }

  /**
   * Graceful stop: stops reading, hands buffered entries back, waits up to `drainTimeoutMs` for running handlers,
   * then aborts and hands back the rest, and closes the connections and the thread pool.
   */
  async stop(): Promise<void> {
    if (!this.started || this.stopping) return this.loopDone;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.autoscaleTimer);
    this.reader.stop();
    // Blocked reads end with their connections; what they might have fetched stays pending and is reclaimed.
    for (const r of this.readers) r.disconnect();
    await this.loopDone;
    for (const lane of LANES) {
      for (const entry of this.reader.buffered[lane].splice(0)) {
        await this.writer.handBack(entry);
        this.reader.release(entry);
      }
    }
    const running = [...this.activeTasks.values()];
    let drainTimer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.all(running.map((r) => r.done)).then(() => true),
      new Promise<boolean>((r) => (drainTimer = setTimeout(() => r(false), this.options.drainTimeoutMs))),
    ]);
    clearTimeout(drainTimer);
    if (!drained) {
      // A task whose handler finished is only waiting for its outcome write: handing it back would run it again.
      const left = [...this.activeTasks.values()].filter((r) => !r.handlerDone);
      this.log.warn('drain limit reached; handing back unfinished tasks', { count: left.length });
      for (const r of left) {
        r.abort.abort(new Error('worker shutting down'));
        await this.writer.handBack(r.entry);
        this.reader.release(r.entry);
      }
    }
    if (!this.options.pools) await this.pools.close();
    if (!this.options.connection) await this.cmd.quit().catch(() => this.cmd.disconnect());
    this.log.info('express worker stopped', { drained });
  }

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

  /** Starts buffered entries while the slot policy allows: express first, standard within its capacity. */
  private dispatch(): void {
    if (this.stopping) return;
    for (let entry = this.reader.takeStartable(); entry; entry = this.reader.takeStartable()) this.run(entry);
  }

  private run(entry: Entry): void {
    const lane = entry.stream.lane;
    this.reader.running[lane]++;
    const task: ActiveTask = {
      entry,
      abort: new LazyAbort(),
      done: Promise.resolve(),
      startedAt: Date.now(),
      handlerDone: false,
      vanished: false,
    };
    const freeSlot = () => {
      if (task.handlerDone) return;
      task.handlerDone = true;
      this.reader.running[lane]--;
      this.reader.settling++;
      if (!this.stopping) {
        this.dispatch();
        this.reader.wake();
      }
    };
    this.activeTasks.set(entry.id, task);
    task.done = this.execute(task, freeSlot)
      .catch((err) => this.log.error('task bookkeeping failed', { error: err, entry: entry.id }))
      .finally(() => {
        freeSlot();
        this.reader.settling--;
        this.activeTasks.delete(entry.id);
        this.reader.release(entry);
        if (!this.stopping) {
          this.dispatch();
          this.reader.wake();
        }
      });
  }

  /** Runs one entry's handler and stores its outcome; calls `freeSlot` as soon as the handler has settled. */
  private async execute(task: ActiveTask, freeSlot: () => void): Promise<void> {
    const { entry, abort } = task;
    const { stream, id, fields } = entry;
    const type = stream.type;
    const meta = { type: type.name, lane: stream.lane };
    const taskId = fields.id;
    const attempt = Number(fields.attempt);
    const maxAttempts = Number(fields.max);
    const timeoutMs = Number(fields.timeout);
    const dead = (reason: string, error: string, attempts: number) => {
      freeSlot();
      return this.deadLetter(entry, reason, error, attempts);
    };
    if (!taskId || !Number.isInteger(attempt) || !Number.isInteger(maxAttempts) || !(timeoutMs > 0))
      return dead(DEAD_REASONS.malformed, `entry ${id} lacks id/attempt/max/timeout`, 0);
    let taskKey: string;
    try {
      taskKey = this.keys.task(taskId);
    } catch {
      return dead(DEAD_REASONS.malformed, `entry ${id} has no valid task id`, attempt);
    }
    // A handed-back entry carries its earlier deliveries: one that kept killing workers stops here.
    const before = priorDeliveries(fields);
    if (before >= this.options.maxDeliveries)
      return dead(DEAD_REASONS.deliveries, `delivered ${before} times without finishing`, attempt);
    let payload: unknown;
    try {
      payload = JSON.parse(fields.payload ?? '');
    } catch {
      return dead(DEAD_REASONS.malformed, `entry ${id} payload is not JSON`, attempt);
    }
    const parsed = type.schema.safeParse(payload);
    if (!parsed.success) return dead(DEAD_REASONS.invalidPayload, parsed.error.message, attempt);

    const startedAt = Date.now();
    task.startedAt = startedAt;
    const waitMs = Math.max(0, startedAt - entryTime(id));
    if (this.listenerCount('task:started')) this.emit('task:started', { ...meta, waitMs });
    this.writer.markStarted(type.name, taskId, taskKey, attempt, startedAt);
    const outcome = await this.executor.run({
      type,
      lane: stream.lane,
      payload: parsed.data,
      taskId,
      attempt,
      timeoutMs,
      abort,
      progress: (info) => this.log.debug('task progress', { taskId, ...info }),
    });
    freeSlot();
    const finishedAt = Date.now();
    this.reader.recordRun(stream.lane, finishedAt - startedAt);
    // The failure write sets the record's status and attempts; a `running` write sent after it would undo that.
    this.writer.takePendingStart(taskId);
    if (task.vanished) return;
    if (this.stopping && abort.aborted && !(outcome.ok === false && outcome.failure.timedOut)) return; // handed back

    if (outcome.ok) {
      const stored = await this.writer.complete(stream, {
        entryId: id,
        taskId,
        taskKey,
        resultJson: JSON.stringify(outcome.result ?? null),
        finishedAt,
        startedAt,
        attempt,
      });
      if (!stored) return this.fenced(meta, taskId);
      this.latencies.add(finishedAt - entryTime(id));
      if (this.listenerCount('task:succeeded'))
        this.emit('task:succeeded', { ...meta, waitMs, runMs: finishedAt - startedAt });
      return;
    }
    const failure = outcome.failure;
    const reason = deadReasonOf(failure, attempt, maxAttempts);
    if (reason) return this.deadLetter(entry, reason, failure.text, attempt);
    const delayMs = Math.min(
      this.options.retryMaxDelayMs,
      this.options.retryBaseDelayMs * 2 ** (attempt - 1),
    );
    const scheduled = await this.writer.retry(entry, {
      taskId,
      attempt,
      maxAttempts,
      timeoutMs,
      error: failure.text,
      delayMs,
    });
    if (!scheduled) return this.fenced(meta, taskId);
    this.emit('task:retried', { ...meta, attempt, error: failure.text });
    const t = setTimeout(() => void this.janitor.promote(stream).catch(() => undefined), delayMs + 5);
    t.unref();
  }

  private async deadLetter(entry: Entry, reason: string, error: string, attempts: number): Promise<void> {
    const written = await this.writer.deadLetter(entry, reason, error, attempts);
    if (written) this.emit('task:dead', { type: entry.stream.type.name, lane: entry.stream.lane, reason });
    else this.fenced({ type: entry.stream.type.name, lane: entry.stream.lane }, entry.fields.id ?? '');
  }

  private fenced(meta: { type: string; lane: Lane }, taskId: string): void {
    this.log.warn('outcome not written: another consumer owns the entry now (this one was cut off)', {
      taskId,
    });
    this.emit('task:fenced', meta);
  }

  /** Keepalive found that a held entry's stream entry was deleted: its task ends dead, its run (if any) stops. */
  private async endDeletedEntry(stream: StreamRef, id: string): Promise<void> {
    const buffered = this.reader.buffered[stream.lane];
    const i = buffered.findIndex((e) => e.id === id && e.stream.key === stream.key);
    const active = this.activeTasks.get(id);
    const entry = i >= 0 ? buffered.splice(i, 1)[0] : active?.entry;
    if (!entry) return;
    if (active) {
      active.vanished = true;
      active.abort.abort(new Error('stream entry deleted'));
    }
    await this.deadLetter(
      entry,
      DEAD_REASONS.entryDeleted,
      `stream entry ${id} was deleted while this consumer held it`,
      Number(entry.fields.attempt) || 0,
    );
    if (!active) this.reader.release(entry);
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const t = setInterval(() => {
      fn().catch((err) => this.log.warn('background task failed', { error: (err as Error).message }));
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  private scheduleAutoscale(): void {
    this.autoscaleTimer = setTimeout(() => {
      this.autoscale()
        .catch((err) => this.log.warn('autoscale failed', { error: (err as Error).message }))
        .finally(() => {
          if (!this.stopping) this.scheduleAutoscale();
        });
    }, jitteredInterval(this.options.autoscaleIntervalMs));
    this.autoscaleTimer.unref();
  }

  private async autoscale(): Promise<void> {
    if (this.stopping) return;
    const o = this.options;
    const now = Date.now();
    const work = await sampleWaitingWork(this.cmd, this.streams, o.group, now);
    const youngest: Record<Lane, number> = { express: Infinity, standard: Infinity };
    for (const t of this.activeTasks.values()) {
      if (t.handlerDone) continue;
      const lane = t.entry.stream.lane;
      youngest[lane] = Math.min(youngest[lane], now - t.startedAt);
    }
    const from = this.reader.concurrency;
    const load = (lane: Lane): LaneLoad => ({
      waiting: work[lane].waiting + this.reader.buffered[lane].length,
      oldestWaitingMs: work[lane].oldestWaitingMs,
      running: this.reader.running[lane],
      capacity: lane === 'express' ? from : standardCapacity(from, o.expressReserve),
      youngestRunningMs: Number.isFinite(youngest[lane]) ? youngest[lane] : 0,
    });
    const p95Ms = this.latencies.takeP95();
    const lanes = { express: load('express'), standard: load('standard') };
    const { to, reason } = decideConcurrency({
      current: from,
      min: o.concurrency.min,
      max: o.concurrency.max,
      targetP95Ms: o.targetP95Ms,
      p95Ms,
      lanes,
    });
    if (to === from) return;
    this.reader.concurrency = to;
    const backlog = lanes.express.waiting + lanes.standard.waiting;
    this.log.info('autoscale', { from, to, reason, p95Ms, backlog });
    this.emit('autoscale', { from, to, reason, p95Ms, backlog });
    if (to > from) {
      this.dispatch();
      this.reader.wake();
    }
  }
}

/** Why a failed run ends the task now (dead-letter reason), or undefined when it is retried. */
function deadReasonOf(f: TaskFailure, attempt: number, maxAttempts: number): string | undefined {
  if (f.outOfMemory) return DEAD_REASONS.memory;
  if (f.nonRetryable)
    return f.text.startsWith('UnrecoverableTaskError')
      ? DEAD_REASONS.unrecoverable
      : DEAD_REASONS.nonRetryable;
  if (attempt >= maxAttempts) return DEAD_REASONS.attempts;
  return undefined;
}

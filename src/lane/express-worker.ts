/**
 * The consumer side of the express lane. One process = one consumer in the shared group of each served type.
 * This class wires the parts and starts and stops them:
 *
 * - stream-reader.ts: read loops, buffers and slot counts; slot-policy.ts: the (pure) rules for them;
 * - task-runs.ts: each dispatched entry from its checks to its stored outcome (the hot path);
 * - task-execution.ts + handler-pool.ts: handlers inline or in the worker-thread pool, with timeouts;
 * - outcome-writer.ts: results, retries, dead letters, hand-backs (atomic and fenced, see scripts.ts);
 * - janitor.ts: keepalive, retry promotion, orphan reclaim, stale consumers;
 * - autoscaler.ts (pure policy) + autoscale-loop.ts (its period, sampling, applying) + lane-load.ts (what it
 *   samples from Redis).
 */
import { EventEmitter } from 'node:events';
import { createLogger, type Logger } from '../logger';
import { AutoscaleLoop } from './autoscale-loop';
import { LatencyWindow } from './autoscaler';
import type { StreamRef } from './entries';
import { HandlerPools } from './handler-pool';
import { Janitor } from './janitor';
import { LaneOptionsError } from './errors';
import { LaneKeys, LANES, type Lane } from './keys';
import { OutcomeWriter } from './outcome-writer';
import { partitionStreams } from './partitions';
import { openLaneConnection, type RedisClient } from './redis-connections';
import { StreamReader } from './stream-reader';
import { TaskExecutor } from './task-execution';
import { publishSlo, SloTracker, type SloReading } from './slo';
import { publishWindows, TaskWindow } from './task-window';
import { TaskRuns } from './task-runs';
import type { ExpressWorkerEvents } from './worker-events';
import {
  resolveWorkerOptions,
  type ExpressWorkerOptions,
  type ResolvedWorkerOptions,
} from './worker-options';

export type { ExpressWorkerOptions } from './worker-options';
export type { ExpressWorkerEvents } from './worker-events';

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
  private runs!: TaskRuns;
  private readers: RedisClient[] = [];
  private started = false;
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly timers: NodeJS.Timeout[] = [];
  private autoscaler?: AutoscaleLoop;
  private readonly latencies = new LatencyWindow();
  private readonly slo: SloTracker;
  /** Done, failed and latency histograms of the last minute, for the board's cluster-wide figures (task-window.ts). */
  private readonly window = new TaskWindow();

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
      maxWaitMs: o.maxWaitMs,
      log: this.log,
      onEntries: () => this.runs.dispatch(),
      onNoGroup: () => this.ensureGroups(),
    });
    this.pools = o.pools ?? new HandlerPools({ threads: o.poolThreads });
    this.executor = new TaskExecutor(this.pools, this.log);
    this.slo = new SloTracker(o.types, o.sloMs);
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
  /** Pool threads alive per lane now (the most is `options.poolThreads`). */
  get poolThreadsRunning(): Record<Lane, number> {
    return this.pools.threadsByLane();
  }
  /** Per type and lane with a latency objective: the last minute's outcomes within it, and all (slo.ts). */
  get sloReadings(): SloReading[] {
    return this.slo.readings();
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
      retentionMs: o.retentionMs,
      taskLifetimeMs: o.taskLifetimeMs,
      log: this.log,
      onHeldEntryDeleted: (e) => void this.runs.endDeletedEntry(e.stream, e.id),
      onSweepError: ({ stage, stream, error }) =>
        this.emit('janitor:error', {
          stage,
          ...(stream ? { type: stream.type.name, lane: stream.lane } : {}),
          error,
        }),
      onReclaimed: (s, count) => {
        this.emit('orphans:reclaimed', { type: s.type.name, lane: s.lane, count });
        this.runs.dispatch();
        this.reader.wake();
      },
    });
    this.runs = new TaskRuns(
      {
        reader: this.reader,
        writer: this.writer,
        executor: this.executor,
        keys: this.keys,
        events: this,
        latencies: this.latencies,
        slo: this.slo.active ? this.slo : undefined,
        window: this.window,
        log: this.log,
        promoteLater: (stream, delayMs) => this.promoteLater(stream, delayMs),
      },
      o,
    );
    if (this.cmd.status === 'wait') await this.cmd.connect();
    await Promise.all(this.readers.map((r) => r.connect()));
    await this.ensureGroups();
    this.loopDone = this.reader.run(this.readers);
    this.every(o.keepaliveIntervalMs, () => this.janitor.keepAlive());
    this.every(o.janitorIntervalMs, () => (this.stopping ? Promise.resolve() : this.janitor.sweep()));
    this.every(o.recordCheckIntervalMs, async () => {
      if (!this.stopping) await this.janitor.checkRecords();
    });
    // For `lane stats` and the board in other processes: per type one HSET of SLO attainment (types with an
    // objective) and one of the task window, every few seconds in one tick, never a write per task.
    let published = 0;
    const typeNames = o.types.map((t) => t.name);
    this.every(o.sloPublishIntervalMs, async () => {
      const prune = published++ % 100 === 0;
      await Promise.all([
        this.slo.active
          ? publishSlo(
              this.cmd,
              (t) => this.keys.sloAttainment(t),
              o.consumerName,
              this.slo.readings(),
              o.sloPublishIntervalMs,
              prune,
            )
          : undefined,
        publishWindows(
          this.cmd,
          (t) => this.keys.taskWindow(t),
          o.consumerName,
          typeNames,
          this.window.readings(),
          o.sloPublishIntervalMs,
          prune,
        ),
      ]);
    });
    if (o.autoscaleIntervalMs > 0) {
      this.autoscaler = new AutoscaleLoop(
        {
          cmd: this.cmd,
          streams: this.streams,
          reader: this.reader,
          runs: this.runs,
          latencies: this.latencies,
          slo: this.slo.active ? this.slo : undefined,
          events: this,
          log: this.log,
        },
        o,
      );
      this.autoscaler.start();
    }
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
    this.autoscaler?.stop();
    this.runs.stop();
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
    let drainTimer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.runs.drained().then(() => true),
      new Promise<boolean>((r) => (drainTimer = setTimeout(() => r(false), this.options.drainTimeoutMs))),
    ]);
    clearTimeout(drainTimer);
    if (!drained) {
      // A task whose handler finished is only waiting for its outcome write: handing it back would run it again.
      const left = this.runs.unfinished();
      this.log.warn('drain limit reached; handing back unfinished tasks', { count: left.length });
      for (const r of left) {
        r.abort.abort(new Error('worker shutting down'));
        await this.writer.handBack(r.entry);
        this.reader.release(r.entry);
      }
    }
    this.writer.stop();
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
      // COMPLETE trims everything below the oldest entry pending in *its* group (XTRIM MINID): a second group on
      // the same stream would lose the entries it has not read yet. One group per stream is the lane's rule.
      const groups = (await this.cmd.call('XINFO', 'GROUPS', s.key)) as unknown[][];
      const names = groups.map((g) => String(g[g.indexOf('name') + 1]));
      const others = names.filter((n) => n !== this.options.group);
      if (others.length)
        throw new LaneOptionsError(
          `stream ${s.key} has consumer group(s) ${others.join(', ')} besides this worker's "${this.options.group}": ` +
            'the lane trims acknowledged entries per group, so every worker of a key prefix must use one group ' +
            '(the same `group` option), and other readers must not add groups to lane streams',
        );
    }
  }

  /** A retry's backoff is over: promote it now rather than at the next janitor sweep. */
  private promoteLater(stream: StreamRef, delayMs: number): void {
    const t = setTimeout(() => void this.janitor.promote(stream).catch(() => undefined), delayMs + 5);
    t.unref();
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const t = setInterval(() => {
      fn().catch((err) => this.log.warn('background task failed', { error: (err as Error).message }));
    }, ms);
    t.unref();
    this.timers.push(t);
  }
}

/**
 * The autoscaler's loop: on its own jittered period (so a fleet does not decide in step) it samples what this
 * process can see (waiting work per lane from Redis, its own running tasks, the latencies finished since the last
 * sample, the last minute's attainment of the latency objectives), asks the pure policy (autoscaler.ts) and applies the decision to the reader's concurrency.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from '../logger';
import { decideConcurrency, jitteredInterval, type LaneLoad, type LatencyWindow } from './autoscaler';
import type { StreamRef } from './entries';
import type { Lane } from './keys';
import { sampleWaitingWork } from './lane-load';
import type { RedisClient } from './redis-connections';
import type { SloTracker } from './slo';
import { standardCapacity } from './slot-policy';
import type { StreamReader } from './stream-reader';
import type { TaskRuns } from './task-runs';
import type { ExpressWorkerEvents } from './worker-events';

export interface AutoscaleLoopOptions {
  group: string;
  concurrency: { min: number; max: number };
  expressReserve: number;
  targetP95Ms: number;
  autoscaleIntervalMs: number;
}

export interface AutoscaleLoopDeps {
  cmd: RedisClient;
  streams: StreamRef[];
  reader: StreamReader;
  runs: TaskRuns;
  latencies: LatencyWindow;
  /** The types' latency objectives and attainment (slo.ts): a lane under its objective is late. */
  slo?: SloTracker;
  events: EventEmitter<ExpressWorkerEvents>;
  log: Logger;
}

export class AutoscaleLoop {
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly d: AutoscaleLoopDeps,
    private readonly o: AutoscaleLoopOptions,
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.tick()
        .catch((err) => this.d.log.warn('autoscale failed', { error: (err as Error).message }))
        .finally(() => {
          if (!this.stopped) this.schedule();
        });
    }, jitteredInterval(this.o.autoscaleIntervalMs));
    this.timer.unref();
  }

  /** One sample, decision and (if it moves) change of the concurrency. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    const { reader, runs } = this.d;
    const o = this.o;
    const now = Date.now();
    const work = await sampleWaitingWork(this.d.cmd, this.d.streams, o.group, now);
    const youngest = runs.youngestRunningMs(now);
    const from = reader.concurrency;
    const attainment = this.d.slo?.worstAttainment(now);
    const load = (lane: Lane): LaneLoad => ({
      waiting: work[lane].waiting + reader.buffered[lane].length,
      oldestWaitingMs: work[lane].oldestWaitingMs,
      running: reader.running[lane],
      capacity: lane === 'express' ? from : standardCapacity(from, o.expressReserve),
      youngestRunningMs: Number.isFinite(youngest[lane]) ? youngest[lane] : 0,
      ...(attainment?.[lane] !== undefined ? { attainment: attainment[lane] } : {}),
    });
    const p95Ms = this.d.latencies.takeP95();
    const lanes = { express: load('express'), standard: load('standard') };
    const { to, reason } = decideConcurrency({
      current: from,
      min: o.concurrency.min,
      max: o.concurrency.max,
      targetP95Ms: o.targetP95Ms,
      p95Ms,
      lanes,
    });
    if (to === from || this.stopped) return;
    reader.concurrency = to;
    const backlog = lanes.express.waiting + lanes.standard.waiting;
    this.d.log.info('autoscale', { from, to, reason, p95Ms, backlog });
    this.d.events.emit('autoscale', { from, to, reason, p95Ms, backlog });
    if (to > from) {
      runs.dispatch();
      reader.wake();
    }
  }
}

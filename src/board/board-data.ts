/**
 * What the lane board shows, read from the lane's own sources: per type and lane the stream statistics and the
 * oldest waiting entry (Redis), the consumers of the group (XINFO CONSUMERS), a task's record and payload, the
 * fleet's last minute of done, failed and latency histograms (each worker's published window, task-window.ts), and
 * this process's worker figures (its metrics registry: the fallback where no worker publishes a window, and the
 * autoscaler's concurrency). Nothing
 * here writes: replays and purges are the ExpressClient's own `retryDead` / `purgeDead` (board-server.ts).
 */
import type { ExpressClient, LaneStats, TaskInfo } from '../lane/express-client';
import { entryTime } from '../lane/entries';
import { LANES, type Lane } from '../lane/keys';
import { partitionTags } from '../lane/partitions';
import type { RedisClient } from '../lane/redis-connections';
import { p95OfCounts, readWindows, type MergedWindow } from '../lane/task-window';
import type { SagalaneMetrics } from '../observability';
import { ClusterWindow, type ClusterFigures } from './cluster-window';
import { ProcessWindow, type WindowFigures } from './process-window';

/** A task type as the board needs it: its name and how many stream partitions it has. */
export interface BoardTaskType {
  name: string;
  defaults: { partitions: number };
}

export interface OverviewRow extends LaneStats, WindowFigures {
  oldestWaitingMs: number;
  /** Tasks started per minute by every worker of the group (Redis: entries read), over `clusterWindowS`. */
  startedPerMin?: number;
  clusterWindowS?: number;
  /**
   * Where done/min, failures and the p95s come from: `cluster`, the windows every worker publishes (summed; the p95
   * is the upper bound of the merged histogram's bucket holding it); `process`, this process's metrics, where no
   * worker of the type published a window (workers of an older version); absent when there is neither.
   */
  figuresScope?: 'cluster' | 'process';
  /** Workers whose window was summed (with `figuresScope: 'cluster'`). */
  publishers?: number;
}

export interface ConsumerRow {
  name: string;
  /** Streams (type, lane, partition) it is registered on. */
  streams: number;
  /** Entries delivered to it and not yet acknowledged, over all its streams. */
  inHand: number;
  /** Milliseconds since Redis last saw it read or claim (the least over its streams). */
  idleMs: number;
  /** Silent longer than `deadAfterMs`: its entries are orphans the janitor reclaims. */
  dead: boolean;
  /** When (ms) a janitor last reclaimed entries this consumer held (recorded for a day after). */
  reclaimedAt?: number;
  /** No longer in the group (the janitor removes a silent consumer once it holds nothing): known by its reclaim. */
  removed?: boolean;
}

export interface ProcessRow {
  /** The autoscaler's current concurrency (slots) of this process's express workers; undefined without workers. */
  concurrency?: number;
  inFlight?: number;
  /** Each express worker of this process. */
  workers?: ProcessWorker[];
}

export interface ProcessWorker {
  consumer?: string;
  concurrency: number;
  inFlight: number;
  /** Most pool threads per lane (for pooled, CPU-bound handlers). */
  poolThreads?: { express: number; standard: number };
  /** Pool threads alive now per lane (threads start on demand and end when idle). */
  poolThreadsRunning?: { express: number; standard: number };
}

/** What an ExpressWorker shows besides the load the metrics read (duck-typed: the metrics hold any load source). */
interface WorkerFacts {
  consumerName?: string;
  poolThreadsRunning?: { express: number; standard: number };
  options?: { poolThreads?: { express: number; standard: number } };
}

export interface TaskView {
  info: TaskInfo;
  /** The payload while the task's stream entry exists (queued, running, or in the dead letters); else undefined. */
  payload?: unknown;
}

export interface BoardDataOptions {
  express: ExpressClient;
  /** A connection for the reads ExpressClient has no method for (consumers, oldest entry, a task's payload). */
  redis: RedisClient;
  types: readonly BoardTaskType[];
  /** Consumer group. @defaultValue 'sagalane-workers' */
  group?: string;
  /** This process's registry: its workers' throughput, p95 and failures, and the autoscaler's concurrency. */
  metrics?: SagalaneMetrics;
  /** A consumer silent this long is flagged dead. @defaultValue 30000 */
  deadAfterMs?: number;
}

export class BoardData {
  readonly window?: ProcessWindow;
  private readonly cluster = new ClusterWindow();
  private readonly group: string;
  private readonly deadAfterMs: number;

  constructor(private readonly o: BoardDataOptions) {
    this.group = o.group ?? 'sagalane-workers';
    this.deadAfterMs = o.deadAfterMs ?? 30_000;
    if (o.metrics) this.window = new ProcessWindow(o.metrics);
  }

  typeNames(): string[] {
    return this.o.types.map((t) => t.name);
  }

  hasType(name: string): boolean {
    return this.o.types.some((t) => t.name === name);
  }

  /** One row per type and lane, express before standard. */
  async overview(): Promise<OverviewRow[]> {
    await this.connected();
    const [stats, waiting, figures, windows] = await Promise.all([
      this.o.express.stats(this.typeNames()),
      Promise.all(this.streams().map(async (s) => ({ ...s, ...(await this.groupReadOf(s.key)) }))),
      this.window ? this.window.figures() : Promise.resolve(new Map<string, WindowFigures>()),
      // One HGETALL per type: the fleet's windows, published by each worker every few seconds.
      Promise.all(
        this.typeNames().map(
          async (t) => [t, await readWindows(this.o.redis, this.o.express.keys.taskWindow(t))] as const,
        ),
      ).then((list) => new Map(list)),
    ]);
    const now = Date.now();
    // Per stream (a partition's count may be known to Redis before another's), summed per type and lane below.
    const read = new Map<string, number>();
    for (const w of waiting) if (w.entriesRead !== undefined) read.set(w.key, w.entriesRead);
    const perStream = this.cluster.record(read, now);
    const started = new Map<string, ClusterFigures>();
    for (const w of waiting) {
      const f = perStream.get(w.key);
      if (!f) continue;
      const key = `${w.type}\u0000${w.lane}`;
      const sum = started.get(key);
      started.set(key, {
        startedPerMin: (sum?.startedPerMin ?? 0) + f.startedPerMin,
        windowS: Math.max(sum?.windowS ?? 0, f.windowS),
      });
    }
    return stats.map((row) => {
      const oldest = waiting
        .filter((w) => w.type === row.type && w.lane === row.lane && w.oldest !== undefined)
        .map((w) => w.oldest!);
      return {
        ...row,
        oldestWaitingMs: oldest.length ? Math.max(0, now - Math.min(...oldest)) : 0,
        ...figuresOf(windows.get(row.type), row.lane, figures.get(`${row.type}\u0000${row.lane}`)),
        ...clusterOf(started.get(`${row.type}\u0000${row.lane}`)),
      };
    });
  }

  /** Every consumer of the group on the board's streams, merged by name. */
  async consumers(): Promise<ConsumerRow[]> {
    await this.connected();
    const byName = new Map<string, ConsumerRow>();
    const [lists, reclaims] = await Promise.all([
      Promise.all(this.streams().map((s) => this.consumersOf(s.key))),
      this.o.redis.hgetall(this.o.express.keys.reclaimedConsumers()),
    ]);
    for (const list of lists) {
      for (const c of list) {
        const row = byName.get(c.name) ?? {
          name: c.name,
          streams: 0,
          inHand: 0,
          idleMs: c.idleMs,
          dead: false,
        };
        row.streams += 1;
        row.inHand += c.pending;
        row.idleMs = Math.min(row.idleMs, c.idleMs);
        byName.set(c.name, row);
      }
    }
    const rows = [...byName.values()].map((r) => ({ ...r, dead: r.idleMs > this.deadAfterMs }));
    for (const [name, at] of Object.entries(reclaims)) {
      const reclaimedAt = Number(at);
      if (!Number.isFinite(reclaimedAt)) continue;
      const row = rows.find((r) => r.name === name);
      if (row) row.reclaimedAt = reclaimedAt;
      else rows.push({ name, streams: 0, inHand: 0, idleMs: NaN, dead: true, reclaimedAt, removed: true });
    }
    return rows.sort((a, b) => a.name.localeCompare(b.name));
  }

  process(): ProcessRow {
    const workers = this.o.metrics ? [...this.o.metrics.sources.workers] : [];
    if (workers.length === 0) return {};
    return {
      concurrency: workers.reduce((n, w) => n + w.concurrency, 0),
      inFlight: workers.reduce((n, w) => n + w.inFlight, 0),
      workers: workers.map((w) => {
        const facts = w as typeof w & WorkerFacts;
        return {
          consumer: facts.consumerName,
          concurrency: w.concurrency,
          inFlight: w.inFlight,
          poolThreads: facts.options?.poolThreads,
          poolThreadsRunning: facts.poolThreadsRunning,
        };
      }),
    };
  }

  /** A task's record, and its payload while the lane still holds its entry. */
  async task(taskId: string): Promise<TaskView | undefined> {
    const info = await this.o.express.get(taskId);
    if (!info) return undefined;
    await this.connected();
    const key = this.o.express.keys.task(taskId);
    const entry = await this.o.redis.hget(key, 'entry');
    let payload: unknown;
    if (entry) {
      const tag = key.slice(key.indexOf('{') + 1, key.indexOf('}'));
      const rows = (await this.o.redis.xrange(this.o.express.keys.stream(tag, info.lane), entry, entry)) as [
        string,
        string[],
      ][];
      const flat = rows[0]?.[1] ?? [];
      const i = flat.indexOf('payload');
      if (i >= 0 && i % 2 === 0) payload = decode(flat[i + 1] ?? '');
    }
    return { info, payload };
  }

  /** The lane's connections queue nothing while (re)connecting: wait a moment for one that is on its way. */
  private async connected(waitMs = 2000): Promise<void> {
    const redis = this.o.redis;
    if (redis.status === 'ready') return;
    if (redis.status === 'wait') redis.connect().catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        redis.off('ready', onReady);
        reject(new Error(`Redis is not connected (${redis.status})`));
      }, waitMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      redis.once('ready', onReady);
    });
  }

  private streams(): { key: string; type: string; lane: Lane }[] {
    return this.o.types.flatMap((t) =>
      partitionTags(t.name, t.defaults.partitions).flatMap((tag) =>
        LANES.map((lane) => ({ key: this.o.express.keys.stream(tag, lane), type: t.name, lane })),
      ),
    );
  }

  /**
   * Enqueue time of the first entry the group has not delivered yet (what the autoscaler samples too), and the
   * group's `entries-read` (entries it has delivered, by every consumer: the cluster-wide throughput's source).
   */
  private async groupReadOf(stream: string): Promise<{ oldest?: number; entriesRead?: number }> {
    let groups: unknown[];
    try {
      groups = (await this.o.redis.call('XINFO', 'GROUPS', stream)) as unknown[];
    } catch (err) {
      if (/no such key/i.test((err as Error).message)) return {};
      throw err;
    }
    const mine = groups.map(fieldsOf).find((g) => g.name === this.group);
    const last = mine ? String(mine['last-delivered-id'] ?? '0-0') : '0-0';
    // Null when Redis cannot tell (before 7.0, or after XGROUP SETID without ENTRIESREAD).
    const entriesRead = mine && typeof mine['entries-read'] === 'number' ? mine['entries-read'] : undefined;
    const next = (await this.o.redis.call('XRANGE', stream, `(${last}`, '+', 'COUNT', 1)) as [
      string,
      string[],
    ][];
    return { oldest: next[0] ? entryTime(next[0][0]) : undefined, entriesRead };
  }

  private async consumersOf(stream: string): Promise<{ name: string; pending: number; idleMs: number }[]> {
    let list: unknown[];
    try {
      list = (await this.o.redis.call('XINFO', 'CONSUMERS', stream, this.group)) as unknown[];
    } catch (err) {
      if (/no such key|NOGROUP/i.test((err as Error).message)) return [];
      throw err;
    }
    return list.map(fieldsOf).map((f) => ({
      name: String(f.name),
      pending: Number(f.pending ?? 0),
      idleMs: Number(f.idle ?? 0),
    }));
  }
}

/** The fleet's figures where a worker published a window, else this process's own (labelled), else none. */
function figuresOf(
  merged: MergedWindow | undefined,
  lane: Lane,
  local: WindowFigures | undefined,
): Pick<OverviewRow, keyof WindowFigures | 'figuresScope' | 'publishers'> {
  if (merged && merged.workers > 0) {
    const w = merged.lanes[lane];
    return {
      figuresScope: 'cluster',
      publishers: merged.workers,
      // The windows are a minute long, so the minute's count is the rate per minute.
      throughputPerMin: w.done,
      failures: w.failed,
      p95WaitMs: p95OfCounts(w.wait),
      p95RunMs: p95OfCounts(w.run),
      windowS: 60,
    };
  }
  return local ? { ...local, figuresScope: 'process' } : {};
}

function clusterOf(f: ClusterFigures | undefined): Pick<OverviewRow, 'startedPerMin' | 'clusterWindowS'> {
  return f ? { startedPerMin: f.startedPerMin, clusterWindowS: f.windowS } : {};
}

function fieldsOf(raw: unknown): Record<string, unknown> {
  const flat = raw as unknown[];
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

function decode(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Every Prometheus metric sagalane exports, in one registry per process.
 *
 * Conventions (checked by `promtool check metrics` in the tests): `sagalane_` prefix, base units (seconds), counters
 * end in `_total`, and labels only take values from bounded sets (workflow type, step, outcome, task type, lane,
 * autoscale direction, dependency name): never a saga id or task id, which would create one series per saga.
 *
 * Node's default metrics (`process_*`, `nodejs_*`) keep their standard names, without the `sagalane_` prefix, so
 * stock Node.js dashboards and the event-loop / memory alerts work unchanged; the scrape job tells processes apart.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { tracingEnabled } from './tracing';

/** Saga and step durations: agents take from milliseconds (cached plan) to minutes (a large backtest). */
export const SAGA_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
/** Express wait and run latency: the express lane's SLA is sub-second, so the buckets are dense below 1 s. */
export const EXPRESS_LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

export interface SagaMetrics {
  /** Sagas whose first workflow task ran, by workflow type. */
  started: Counter<'workflow_type'>;
  /** Sagas that reached a terminal state, by workflow type and outcome (`completed`, `rolled_back`, `failed`). */
  ended: Counter<'workflow_type' | 'outcome'>;
  /** Start to terminal state, by workflow type and outcome. */
  duration: Histogram<'workflow_type' | 'outcome'>;
  /** One forward step (activity incl. retries), by workflow type, step and outcome. */
  stepDuration: Histogram<'workflow_type' | 'step' | 'outcome' | 'dispatch'>;
  /** Whether step-duration samples carry the saga's trace id as an exemplar (`createMetrics({ exemplars })`). */
  exemplars: boolean;
  /** Compensations run, by workflow type, step and outcome (`completed` or `failed`). */
  compensations: Counter<'workflow_type' | 'step' | 'outcome'>;
}

export interface ExpressMetrics {
  submitted: Counter<'type' | 'lane'>;
  started: Counter<'type' | 'lane'>;
  succeeded: Counter<'type' | 'lane'>;
  retried: Counter<'type' | 'lane'>;
  /** Tasks moved to the dead-letter stream after their last delivery. */
  dead: Counter<'type' | 'lane'>;
  /** Submission to the start of the (final) run. */
  waitSeconds: Histogram<'type' | 'lane'>;
  /** Handler run time of a successful task. */
  runSeconds: Histogram<'type' | 'lane'>;
  orphansReclaimed: Counter<'type' | 'lane'>;
  ackFailures: Counter<'type' | 'lane'>;
  /** Autoscaler changes of concurrency, by direction (`up`, `down`). */
  autoscaleDecisions: Counter<'direction'>;
  /** Scrapes where reading the stream statistics from Redis failed (the stream gauges are then absent). */
  statsErrors: Counter;
  /**
   * Janitor sweeps (retry promotion, orphan reclaim) that failed, by stage (`promote`, `reclaim`, `sweep` = the
   * whole call). Retries and orphan recovery stall while this grows (the RUNBOOK's SagalaneJanitorFailing).
   */
  janitorErrors: Counter<'stage'>;
  /** Read from Redis at scrape time (see lane-collectors.ts). */
  streamLength: Gauge<'type' | 'lane'>;
  backlog: Gauge<'type' | 'lane'>;
  pending: Gauge<'type' | 'lane'>;
  consumers: Gauge<'type' | 'lane'>;
  deadLetters: Gauge<'type' | 'lane'>;
  delayed: Gauge<'type' | 'lane'>;
  /** Read from the instrumented workers of this process at scrape time. */
  concurrency: Gauge;
  inFlight: Gauge;
  /** Per type and lane with an objective (`sloMs`): the share of the last minute's tasks within it, and the objective. */
  sloAttainment: Gauge<'type' | 'lane'>;
  sloObjective: Gauge<'type' | 'lane'>;
}

/** One stream's numbers as the express client's `stats()` reports them. */
export interface LaneStreamStats {
  type: string;
  lane: string;
  /** XLEN of the stream. */
  length: number;
  /** Entries delivered but not acknowledged. */
  pending: number;
  /** Entries not yet delivered to any consumer of the group. */
  lag: number;
  consumers: number;
  /** Entries in the dead-letter stream. */
  deadLetters: number;
  /** Failed attempts waiting for their retry backoff. */
  delayed?: number;
}

/** Anything that reads the stream statistics from Redis (an ExpressClient). */
export interface LaneStatsSource {
  stats(): Promise<readonly LaneStreamStats[]>;
}

/** One type and lane's latency objective and its last minute, as an ExpressWorker reports it (src/lane/slo.ts). */
export interface SloReadingLike {
  type: string;
  lane: string;
  objectiveMs: number;
  met: number;
  total: number;
}

/** What the process-level express gauges read from an ExpressWorker. */
export interface WorkerLoadSource {
  readonly concurrency: number;
  readonly inFlight: number;
  /** Per type and lane with an objective (absent on workers without any). */
  readonly sloReadings?: readonly SloReadingLike[];
}

/** Objects read at scrape time; the instrument* functions add to these sets and their detach removes. */
export interface ScrapeSources {
  laneStats: Set<LaneStatsSource>;
  workers: Set<WorkerLoadSource>;
}

export interface SagalaneMetrics {
  registry: Registry;
  sources: ScrapeSources;
  saga: SagaMetrics;
  express: ExpressMetrics;
  /** 1 when the named dependency answered its readiness check at the last scrape, else 0. */
  dependencyUp: Gauge<'dependency'>;
}

export interface CreateMetricsOptions {
  /** Collect Node's default metrics (`process_*`, `nodejs_*`) into the registry. @defaultValue true */
  defaultMetrics?: boolean;
  /** Labels put on every series of this registry (e.g. `{ service: 'saga-worker' }`). @defaultValue {} */
  defaultLabels?: Record<string, string>;
  /**
   * Exemplars: each step-duration sample names the trace of the saga it measured (`trace_id`), so a slow bucket
   * leads to a trace. Exemplars need the OpenMetrics exposition format, which `/metrics` then serves (Prometheus
   * scrapes both). @defaultValue on while this process traces (src/observability/tracing.ts)
   */
  exemplars?: boolean;
}

/** A fresh registry with every sagalane metric registered. Call once per process (tests: once per case). */
export function createMetrics(options: CreateMetricsOptions = {}): SagalaneMetrics {
  const exemplars = options.exemplars ?? tracingEnabled();
  // (The OpenMetrics registry is typed apart from the Prometheus one; both expose the same methods.)
  const registry = new Registry();
  if (exemplars) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const sources: ScrapeSources = { laneStats: new Set(), workers: new Set() };
  const laneSnapshot = sharedSnapshot(() => readLaneStats(sources.laneStats), LANE_STATS_TTL_MS);

  const saga: SagaMetrics = {
    exemplars,
    started: new Counter({
      name: 'sagalane_sagas_started_total',
      help: 'Sagas started, by workflow type.',
      labelNames: ['workflow_type'],
      registers,
    }),
    ended: new Counter({
      name: 'sagalane_sagas_ended_total',
      help: 'Sagas that reached a terminal state, by workflow type and outcome (completed, rolled_back, failed).',
      labelNames: ['workflow_type', 'outcome'],
      registers,
    }),
    duration: new Histogram({
      name: 'sagalane_saga_duration_seconds',
      help: 'Saga duration from start to terminal state, by workflow type and outcome.',
      labelNames: ['workflow_type', 'outcome'],
      buckets: SAGA_DURATION_BUCKETS,
      registers,
    }),
    stepDuration: new Histogram({
      name: 'sagalane_saga_step_duration_seconds',
      help: 'Duration of a forward saga step including retries, by workflow type, step, outcome and dispatch mode (lane: a lane task ran it; inline: the saga worker did).',
      labelNames: ['workflow_type', 'step', 'outcome', 'dispatch'],
      buckets: SAGA_DURATION_BUCKETS,
      registers,
      enableExemplars: exemplars,
    }),
    compensations: new Counter({
      name: 'sagalane_saga_compensations_total',
      help: 'Saga compensations run, by workflow type, step and outcome (completed, failed).',
      labelNames: ['workflow_type', 'step', 'outcome'],
      registers,
    }),
  };

  const typeLane = ['type', 'lane'] as const;
  const counter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: typeLane, registers });
  // The five stream gauges are filled from one stats() read per scrape (prom-client collects them in parallel).
  const streamGauge = (name: string, help: string, pick: (s: LaneStreamStats) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: typeLane,
      registers,
      async collect() {
        this.reset();
        const snapshot = await laneSnapshot();
        if (!snapshot.ok) return;
        for (const s of snapshot.streams) {
          const value = pick(s);
          if (value !== null) this.set({ type: s.type, lane: s.lane }, value);
        }
      },
    });

  const express: ExpressMetrics = {
    submitted: counter('sagalane_express_tasks_submitted_total', 'Express-lane tasks submitted.'),
    started: counter('sagalane_express_tasks_started_total', 'Express-lane task runs started.'),
    succeeded: counter('sagalane_express_tasks_succeeded_total', 'Express-lane tasks that succeeded.'),
    retried: counter(
      'sagalane_express_tasks_retried_total',
      'Express-lane task runs that failed and were scheduled again.',
    ),
    dead: counter(
      'sagalane_express_tasks_dead_total',
      'Express-lane tasks moved to the dead-letter stream after their last allowed delivery.',
    ),
    waitSeconds: new Histogram({
      name: 'sagalane_express_task_wait_seconds',
      help: 'Time from submission to the start of a task run (queueing latency).',
      labelNames: typeLane,
      buckets: EXPRESS_LATENCY_BUCKETS,
      registers,
    }),
    runSeconds: new Histogram({
      name: 'sagalane_express_task_run_seconds',
      help: 'Handler run time of successful express-lane tasks.',
      labelNames: typeLane,
      buckets: EXPRESS_LATENCY_BUCKETS,
      registers,
    }),
    orphansReclaimed: counter(
      'sagalane_express_orphans_reclaimed_total',
      'Entries of dead consumers reclaimed by the janitor (XAUTOCLAIM).',
    ),
    ackFailures: counter(
      'sagalane_express_ack_failures_total',
      'Results stored but XACK failed (the entry will be redelivered).',
    ),
    autoscaleDecisions: new Counter({
      name: 'sagalane_express_autoscale_decisions_total',
      help: 'Concurrency changes made by the SLA autoscaler, by direction (up, down).',
      labelNames: ['direction'],
      registers,
    }),
    janitorErrors: new Counter({
      name: 'sagalane_janitor_errors_total',
      help: 'Janitor sweep parts that failed (retry promotion, orphan reclaim, or the whole sweep call), by stage.',
      labelNames: ['stage'],
      registers,
    }),
    statsErrors: new Counter({
      name: 'sagalane_express_stats_errors_total',
      help: 'Scrapes where the stream statistics could not be read from Redis.',
      registers,
      // Serialised in parallel with the stream gauges: wait for this scrape's read so its failure counts now.
      async collect() {
        await laneSnapshot();
      },
    }),
    streamLength: streamGauge(
      'sagalane_express_stream_entries',
      'Entries in the stream (XLEN).',
      (s) => s.length,
    ),
    backlog: streamGauge(
      'sagalane_express_backlog_tasks',
      'Entries not yet delivered to the consumer group (group lag).',
      (s) => s.lag,
    ),
    pending: streamGauge(
      'sagalane_express_pending_tasks',
      'Entries delivered but not acknowledged (the group PEL).',
      (s) => s.pending,
    ),
    consumers: streamGauge(
      'sagalane_express_consumers',
      'Consumers registered in the stream group.',
      (s) => s.consumers,
    ),
    deadLetters: streamGauge(
      'sagalane_express_dead_letter_tasks',
      'Entries in the dead-letter stream of this task type and lane.',
      (s) => s.deadLetters,
    ),
    delayed: streamGauge(
      'sagalane_express_delayed_tasks',
      'Failed attempts waiting for their retry backoff.',
      (s) => s.delayed ?? null,
    ),
    concurrency: new Gauge({
      name: 'sagalane_express_concurrency',
      help: 'Current concurrency limit of the express workers in this process (set by the autoscaler).',
      registers,
      collect() {
        this.set(sumOver(sources.workers, (w) => w.concurrency));
      },
    }),
    inFlight: new Gauge({
      name: 'sagalane_express_in_flight_tasks',
      help: 'Tasks currently running in the express workers of this process.',
      registers,
      collect() {
        this.set(sumOver(sources.workers, (w) => w.inFlight));
      },
    }),
    sloAttainment: new Gauge({
      name: 'sagalane_lane_slo_attainment_ratio',
      help: "Share (0..1) of the last minute's tasks of this type and lane whose enqueue-to-outcome time met its sloMs, over the express workers of this process (absent when none finished).",
      labelNames: typeLane,
      registers,
      collect() {
        this.reset();
        for (const r of sloTotals(sources.workers).values())
          if (r.total > 0) this.set({ type: r.type, lane: r.lane }, r.met / r.total);
      },
    }),
    sloObjective: new Gauge({
      name: 'sagalane_lane_slo_seconds',
      help: 'Latency objective (sloMs) of this type and lane: enqueue to outcome, seconds.',
      labelNames: typeLane,
      registers,
      collect() {
        this.reset();
        for (const r of sloTotals(sources.workers).values())
          this.set({ type: r.type, lane: r.lane }, r.objectiveMs / 1000);
      },
    }),
  };

  const dependencyUp = new Gauge({
    name: 'sagalane_dependency_up',
    help: '1 when the dependency (redis, temporal) answered its readiness check at scrape time, else 0.',
    labelNames: ['dependency'],
    registers,
  });

  laneSnapshot.onError = () => express.statsErrors.inc();
  return { registry, sources, saga, express, dependencyUp };
}

/** A scrape reads Redis at most this often, however many gauges and scrapers ask. */
const LANE_STATS_TTL_MS = 500;

type LaneSnapshot = { ok: true; streams: LaneStreamStats[] } | { ok: false; error: Error };

async function readLaneStats(sources: Set<LaneStatsSource>): Promise<LaneStreamStats[]> {
  const all = await Promise.all([...sources].map((s) => s.stats()));
  return all.flat();
}

/**
 * Shares one in-flight read between concurrent callers and reuses its result for `ttlMs`, so a scrape costs one
 * Redis round-trip per source. A failed read is reported once through `onError` and yields `{ ok: false }`: the
 * scrape still succeeds, without the stream gauges (the `sagalane_express_stats_errors_total` counter says why).
 */
function sharedSnapshot(read: () => Promise<LaneStreamStats[]>, ttlMs: number) {
  let current: { at: number; promise: Promise<LaneSnapshot> } | undefined;
  const get = Object.assign(
    (): Promise<LaneSnapshot> => {
      if (current && Date.now() - current.at < ttlMs) return current.promise;
      const promise = read().then(
        (streams): LaneSnapshot => ({ ok: true, streams }),
        (err: unknown): LaneSnapshot => {
          get.onError(err);
          return { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
        },
      );
      current = { at: Date.now(), promise };
      return promise;
    },
    { onError: (_err: unknown): void => undefined },
  );
  return get;
}

/** The workers' SLO readings summed per type and lane (workers of one process serving one type add up). */
function sloTotals(workers: Iterable<WorkerLoadSource>): Map<string, SloReadingLike> {
  const out = new Map<string, SloReadingLike>();
  for (const w of workers)
    for (const r of w.sloReadings ?? []) {
      const key = `${r.type}\u0000${r.lane}`;
      const o = out.get(key);
      if (!o) out.set(key, { ...r });
      else {
        o.met += r.met;
        o.total += r.total;
        o.objectiveMs = Math.min(o.objectiveMs, r.objectiveMs);
      }
    }
  return out;
}

function sumOver<T>(items: Iterable<T>, pick: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += pick(item);
  return total;
}

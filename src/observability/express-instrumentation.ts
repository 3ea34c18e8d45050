/**
 * Connects the express lane's events to the metrics: `instrumentExpressWorker` listens to an ExpressWorker,
 * `instrumentExpressClient` to an ExpressClient (submissions, plus its `stats()` as the source of the per-stream
 * gauges read at scrape time). Both return a `detach()` that removes the listeners and the scrape sources.
 *
 * The interfaces below are the parts of the lane's classes this module relies on (structural typing keeps the
 * lane free of any dependency on Prometheus).
 */
import type { LaneStatsSource, SagalaneMetrics, WorkerLoadSource } from './metrics';

interface Emitter {
  on(event: string, listener: (payload: never) => void): unknown;
  off(event: string, listener: (payload: never) => void): unknown;
}

export interface TaskEventPayload {
  type: string;
  lane: string;
}

/** The ExpressWorker surface: its events and its load getters. */
export interface InstrumentableExpressWorker extends Emitter, WorkerLoadSource {}

/** The ExpressClient surface: `task:submitted` events and per-stream statistics. */
export interface InstrumentableExpressClient extends Emitter, LaneStatsSource {}

export interface InstrumentClientOptions {
  /** Read this client's `stats()` at scrape time for the per-stream gauges. @defaultValue true */
  streamStats?: boolean;
}

export type Detach = () => void;

function listen(target: Emitter, handlers: Record<string, (payload: never) => void>): Detach {
  for (const [event, handler] of Object.entries(handlers)) target.on(event, handler);
  return () => {
    for (const [event, handler] of Object.entries(handlers)) target.off(event, handler);
  };
}

/**
 * A worker's events name the stream it read, and a partitioned type's partitions 1…N-1 are streams `type~1` …
 * (src/lane/partitions.ts; `~` cannot occur in a type name, src/lane/keys.ts). Metrics count per type: one series
 * per type and lane whatever the partition count, the same labels the stream gauges and the dashboard use.
 */
export const metricType = (streamType: string): string => streamType.replace(/~\d+$/, '');

const labelsOf = (p: TaskEventPayload) => ({ type: metricType(p.type), lane: p.lane });

/**
 * Creates the zero series of a type and lane the first time it is seen, so the first dead letter or ACK failure
 * is an increase() from 0 that alerts see, rather than a brand-new series that increase() cannot.
 */
function initSeries(metrics: SagalaneMetrics, seen: Set<string>, p: TaskEventPayload): void {
  const key = `${metricType(p.type)}\u0000${p.lane}`;
  if (seen.has(key)) return;
  seen.add(key);
  const { express } = metrics;
  const labels = labelsOf(p);
  for (const c of [
    express.started,
    express.succeeded,
    express.retried,
    express.dead,
    express.orphansReclaimed,
    express.ackFailures,
  ]) {
    c.inc(labels, 0);
  }
}

export function instrumentExpressWorker(
  worker: InstrumentableExpressWorker,
  metrics: SagalaneMetrics,
): Detach {
  const { express } = metrics;
  metrics.sources.workers.add(worker);
  const seen = new Set<string>();
  // Zero series, so the first failure is an increase() the alert sees.
  for (const stage of ['promote', 'reclaim', 'sweep']) express.janitorErrors.inc({ stage }, 0);
  // Every task event first makes sure the type/lane has its zero series (see initSeries).
  const onTask =
    <P extends TaskEventPayload>(record: (p: P) => void) =>
    (p: P) => {
      initSeries(metrics, seen, p);
      record(p);
    };
  const stop = listen(worker, {
    'task:started': onTask((p: TaskEventPayload & { waitMs: number }) => {
      express.started.inc(labelsOf(p));
      express.waitSeconds.observe(labelsOf(p), p.waitMs / 1000);
    }),
    'task:succeeded': onTask((p: TaskEventPayload & { runMs: number }) => {
      express.succeeded.inc(labelsOf(p));
      express.runSeconds.observe(labelsOf(p), p.runMs / 1000);
    }),
    'task:retried': onTask((p) => express.retried.inc(labelsOf(p))),
    'task:dead': onTask((p) => express.dead.inc(labelsOf(p))),
    'orphans:reclaimed': onTask((p: TaskEventPayload & { count: number }) =>
      express.orphansReclaimed.inc(labelsOf(p), p.count),
    ),
    'ack:failed': onTask((p) => express.ackFailures.inc(labelsOf(p))),
    'janitor:error': (p: { stage: string }) => express.janitorErrors.inc({ stage: p.stage }),
    autoscale: (p: { from: number; to: number }) => {
      if (p.to !== p.from) express.autoscaleDecisions.inc({ direction: p.to > p.from ? 'up' : 'down' });
    },
  });
  return () => {
    stop();
    metrics.sources.workers.delete(worker);
  };
}

export function instrumentExpressClient(
  client: InstrumentableExpressClient,
  metrics: SagalaneMetrics,
  options: InstrumentClientOptions = {},
): Detach {
  if (options.streamStats ?? true) metrics.sources.laneStats.add(client);
  const stop = listen(client, {
    'task:submitted': (p: TaskEventPayload) => metrics.express.submitted.inc(labelsOf(p)),
  });
  return () => {
    stop();
    metrics.sources.laneStats.delete(client);
  };
}

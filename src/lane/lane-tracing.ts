/**
 * Tracing of lane tasks (docs/OBSERVABILITY.md "Tracing"). The submitter's W3C trace context travels in the stream
 * entry (`tp` / `ts`, scripts.ts TRACE_FIELDS), and the worker continues it with two spans per delivery:
 *
 * - `lane.wait <type>`: from the entry's append (its stream id's time) to the dispatch that picked it;
 * - `lane.run <type>` (CONSUMER): the handler's run, with how the delivery ended (`lane.outcome`). The handler runs
 *   with it active, so the spans it makes (an agent's phases) are its children.
 *
 * Both are children of the submitter's span: for a dispatched saga step, the step's activity span. A redelivery (a
 * retry, a reclaim after its consumer died, a hand-back) is a new pair in the same trace, with its delivery count. An
 * entry without trace context, or with a malformed one, starts a new trace: its run span is the root and its wait span
 * a child of it, so the wait is still shown. It never fails the task.
 *
 * Off (the default), nothing here runs: the client writes no trace fields and the worker makes no span; each side
 * checks `tracingEnabled()` once per submit or dispatched task.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import {
  contextFromCarrier,
  recordError,
  traceCarrier,
  tracer,
  tracingEnabled,
  type TraceCarrier,
} from '../observability/tracing';
import { type Entry, entryTime, priorDeliveries } from './entries';
import { splitPartitionTag } from './partitions';
import { TRACE_FIELDS } from './scripts';

/**
 * How one delivery of a task ended, as `lane.outcome` says it: `succeeded` (result stored), `retrying` (failed, a
 * retry is scheduled), `dead_lettered` (failed for good, or unrunnable: see `lane.dead_reason`), `fenced` (another
 * consumer took the entry over while this one was cut off: its outcome was not written), `handed_back` (the worker
 * stopped: another consumer runs it), `not_stored` (the outcome could not be written: the entry stays pending and is
 * redelivered).
 */
export type LaneOutcome =
  'succeeded' | 'retrying' | 'dead_lettered' | 'fenced' | 'handed_back' | 'not_stored';

/**
 * The trace context a submission carries: the explicit parent's, else the active context's. Undefined while tracing
 * is off or when neither has a span: then the entry gets no trace fields.
 */
export function submitTraceContext(parent: Context | undefined): TraceCarrier | undefined {
  if (!tracingEnabled()) return undefined;
  return traceCarrier(parent ?? context.active());
}

/** The delivery a trace is started for (the worker's task object). */
export interface TracedDelivery {
  readonly entry: Entry;
  /** '' when the entry has no usable task id (it is dead-lettered unrun). */
  readonly taskId: string;
  readonly attempt: number;
}

/** A delivery's spans: the wait span is ended when made; the run span when the delivery's outcome is settled. */
export class TaskTrace {
  private endTime: number | undefined;
  private outcome: LaneOutcome = 'not_stored';
  private deadReason: string | undefined;

  /**
   * @param span the run span
   * @param context the handler's active context (the run span in it)
   */
  constructor(
    private readonly span: Span,
    readonly context: Context,
  ) {}

  /** The handler settled at `at` (the run span ends there, whatever the outcome write takes after it). */
  ran(at: number): void {
    this.endTime = at;
  }

  /** The run failed (recorded on the run span: the error's name and message, never the payload). */
  failed(text: string): void {
    const colon = text.indexOf(': ');
    const err = new Error(colon > 0 ? text.slice(colon + 2) : text);
    if (colon > 0) err.name = text.slice(0, colon);
    // The lane's failure text has no stack of the handler's; this one's would point here.
    err.stack = undefined;
    recordError(this.span, err);
  }

  settle(outcome: LaneOutcome, deadReason?: string): void {
    this.outcome = outcome;
    this.deadReason = deadReason;
  }

  /** Ends the run span (once the delivery's outcome is stored, or dropped). */
  end(): void {
    const span = this.span;
    span.setAttribute('lane.outcome', this.outcome);
    if (this.deadReason) span.setAttribute('lane.dead_reason', this.deadReason);
    if (this.outcome === 'dead_lettered' || this.outcome === 'not_stored')
      span.setStatus({ code: SpanStatusCode.ERROR, message: this.deadReason ?? this.outcome });
    span.end(this.endTime);
  }
}

/**
 * Starts the spans of a delivery picked at `pickedAt` (call only while `tracingEnabled()`): the wait span, ended at
 * once, and the run span, ended by `TaskTrace.end`. A malformed or missing trace context in the entry starts a new
 * trace (`contextFromCarrier` drops it).
 */
export function startTaskTrace(
  d: TracedDelivery,
  run: { consumer: string; pooled: boolean; pickedAt: number },
): TaskTrace {
  const { entry } = d;
  const { stream, fields } = entry;
  const parent = contextFromCarrier({
    traceparent: fields[TRACE_FIELDS.traceparent],
    tracestate: fields[TRACE_FIELDS.tracestate],
  });
  // An unsampled trace (the submitter's sampler said no: the flag travels in `tp`) makes no spans here: they would be
  // non-recording anyway, and making them is most of what tracing costs a task. The handler still runs in the
  // trace's context, so what it starts stays unsampled too instead of starting sampled traces of its own.
  const remote = trace.getSpanContext(parent);
  if (remote && (remote.traceFlags & TraceFlags.SAMPLED) === 0)
    return new TaskTrace(trace.wrapSpanContext(remote), parent);
  const { type, partition } = splitPartitionTag(stream.type.name);
  const attributes: Attributes = {
    'lane.task.type': type,
    'lane.task.id': d.taskId || fields.id || fields.foreignId || '',
    'lane.name': stream.lane,
    'lane.partition': partition,
    // This delivery: a fresh read is 1; a reclaim counts the deliveries the group saw, a hand-back its `dlv`.
    'lane.delivery_count': (entry.deliveries ?? 1) + priorDeliveries(fields),
  };
  const t = tracer();
  const enqueuedAt = entryTime(entry.id);
  const runAttributes: Attributes = {
    ...attributes,
    'lane.attempt': d.attempt,
    'lane.consumer': run.consumer,
    'lane.pooled': run.pooled,
  };
  const runOptions = { kind: SpanKind.CONSUMER, attributes: runAttributes, startTime: run.pickedAt };
  const waitName = `lane.wait ${type}`;
  const runName = `lane.run ${type}`;
  let span: Span;
  if (trace.getSpanContext(parent)) {
    t.startSpan(waitName, { attributes, startTime: enqueuedAt }, parent).end(run.pickedAt);
    span = t.startSpan(runName, runOptions, parent);
  } else {
    span = t.startSpan(runName, { ...runOptions, root: true }, ROOT_CONTEXT);
    t.startSpan(waitName, { attributes, startTime: enqueuedAt }, trace.setSpan(ROOT_CONTEXT, span)).end(
      run.pickedAt,
    );
  }
  return new TaskTrace(span, trace.setSpan(parent, span));
}

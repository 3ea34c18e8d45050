/**
 * Task runs: each dispatched entry from its checks to its stored outcome, with the slot accounting around it.
 * An entry is checked once (fields, task id, delivery count, payload against its type's schema), run inline or
 * pooled (task-execution.ts), and its outcome completed, retried or dead-lettered through the outcome writer.
 *
 * This is the worker's hot path. Per task it allocates one `ActiveTask`, which is at once the executor's run
 * request, the writer's `running` mark and its completion, and no promise chain of its own; the rare paths
 * (retry, dead letter, fencing) are plain async code.
 */
import type { EventEmitter } from 'node:events';
import type { Context } from '@opentelemetry/api';
import type { Logger } from '../logger';
import { tracingEnabled } from '../observability/tracing';
import type { LatencyWindow } from './autoscaler';
import {
  DEAD_REASONS,
  type Entry,
  entryTime,
  errorText,
  mayHaveRunBefore,
  priorDeliveries,
  type StreamRef,
} from './entries';
import { streamTagOfTaskId, type Lane, type LaneKeys } from './keys';
import { startTaskTrace, type TaskTrace } from './lane-tracing';
import type { Completion, OutcomeWriter, StartMark } from './outcome-writer';
import type { SloTracker } from './slo';
import type { TaskWindow } from './task-window';
import type { StreamReader } from './stream-reader';
import {
  LazyAbort,
  type RunOutcome,
  type RunRequest,
  type TaskExecutor,
  type TaskFailure,
} from './task-execution';
import type { TaskType } from './task-types';
import type { ExpressWorkerEvents } from './worker-events';

export interface TaskRunsOptions {
  /** This worker's consumer name (the run span's `lane.consumer`). */
  consumerName: string;
  maxDeliveries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
}

export interface TaskRunsDeps {
  reader: StreamReader;
  writer: OutcomeWriter;
  executor: TaskExecutor;
  keys: LaneKeys;
  events: EventEmitter<ExpressWorkerEvents>;
  /** Submit-to-finish latencies of succeeded tasks (the autoscaler's p95). */
  latencies: LatencyWindow;
  /** Outcomes against the types' latency objectives (slo.ts); absent or inactive when no type has one. */
  slo?: SloTracker;
  /** The last minute's done, failed and latencies per type and lane, published for the board (task-window.ts). */
  window?: TaskWindow;
  log: Logger;
  /** Promotes the stream's due retries after `delayMs` (the janitor's job). */
  promoteLater: (stream: StreamRef, delayMs: number) => void;
}

/** Why an entry cannot run: it is dead-lettered with this reason. */
interface Refusal {
  reason: string;
  error: string;
  attempts: number;
}

/** A task from dispatch until its outcome is stored (or it is handed back). */
export class ActiveTask implements RunRequest, StartMark, Completion {
  readonly abort = new LazyAbort();
  taskId = '';
  taskKey = '';
  attempt = 0;
  maxAttempts = 0;
  timeoutMs = 0;
  payload: unknown = undefined;
  startedAt = 0;
  finishedAt = 0;
  resultJson = '';
  /** The handler has settled: the task holds no slot, only its outcome write is outstanding. */
  handlerDone = false;
  /** Its stream entry was deleted while it ran: it was dead-lettered, its outcome is dropped. */
  vanished = false;
  /** Its spans, while tracing is on (lane-tracing.ts); undefined otherwise. */
  trace: TaskTrace | undefined = undefined;

  constructor(
    private readonly runs: TaskRuns,
    readonly entry: Entry,
  ) {}

  get type(): TaskType {
    return this.entry.stream.type;
  }
  get lane(): Lane {
    return this.entry.stream.lane;
  }
  get entryId(): string {
    return this.entry.id;
  }
  get redelivered(): boolean {
    return mayHaveRunBefore(this.entry);
  }
  get enqueuedAt(): number {
    return entryTime(this.entry.id);
  }
  get traceContext(): Context | undefined {
    return this.trace?.context;
  }
  progress(info: Record<string, unknown>): void {
    this.runs.progress(this, info);
  }
  ended(outcome: RunOutcome): void {
    this.runs.ended(this, outcome);
  }
  stored(outcome: boolean | undefined): void {
    this.runs.stored(this, outcome);
  }
}

export class TaskRuns {
  /** Every task between dispatch and its stored outcome. */
  readonly active = new Set<ActiveTask>();
  private stopping = false;
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly d: TaskRunsDeps,
    private readonly o: TaskRunsOptions,
  ) {}

  /** Starts buffered entries while the slot policy allows: express first, standard within its capacity. */
  dispatch(): void {
    if (this.stopping) return;
    const reader = this.d.reader;
    for (let entry = reader.takeStartable(); entry; entry = reader.takeStartable()) this.run(entry);
  }

  /** No more dispatching; outcomes still arriving are stored as usual (or dropped if their task was handed back). */
  stop(): void {
    this.stopping = true;
  }

  /** Resolves once no task is active. */
  drained(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Active tasks whose handler is still running. */
  unfinished(): ActiveTask[] {
    return [...this.active].filter((t) => !t.handlerDone);
  }

  /** Per lane, how long the most recently started task still running has run (Infinity when none runs). */
  youngestRunningMs(now: number): Record<Lane, number> {
    const youngest: Record<Lane, number> = { express: Infinity, standard: Infinity };
    for (const t of this.active) {
      if (t.handlerDone || !t.startedAt) continue;
      youngest[t.lane] = Math.min(youngest[t.lane], now - t.startedAt);
    }
    return youngest;
  }

  private run(entry: Entry): void {
    this.d.reader.running[entry.stream.lane]++;
    const task = new ActiveTask(this, entry);
    this.active.add(task);
    const refusal = this.check(task);
    const traced = tracingEnabled();
    if (refusal) {
      if (traced) {
        const now = Date.now();
        this.startTrace(task, now).ran(now);
      }
      this.freeSlot(task);
      this.deadLetter(entry, refusal.reason, refusal.error, refusal.attempts, task.trace)
        .catch((err: unknown) => this.d.log.error('task bookkeeping failed', { error: err, entry: entry.id }))
        .finally(() => this.settled(task));
      return;
    }
    task.startedAt = Date.now();
    if (traced) this.startTrace(task, task.startedAt);
    const events = this.d.events;
    if (events.listenerCount('task:started'))
      events.emit('task:started', {
        type: task.type.name,
        lane: task.lane,
        waitMs: Math.max(0, task.startedAt - entryTime(entry.id)),
      });
    this.d.writer.markStarted(task);
    this.d.executor.run(task);
  }

  private startTrace(task: ActiveTask, pickedAt: number): TaskTrace {
    task.trace = startTaskTrace(task, {
      consumer: this.o.consumerName,
      pooled: task.type.pooled !== undefined,
      pickedAt,
    });
    return task.trace;
  }

  /** Reads and checks the entry's fields into the task; what makes it unrunnable, if anything. */
  private check(task: ActiveTask): Refusal | undefined {
    const { stream, id, fields } = task.entry;
    const taskId = fields.id;
    // The reader drops an id of another type than the stream's (stream-reader.ts entryOf): say which it was.
    if (!taskId && fields.foreignId)
      return {
        reason: DEAD_REASONS.malformed,
        error: `entry ${id} carries task id ${fields.foreignId} of type "${fields.foreignId.split(':')[0]}" in the "${stream.type.name}" stream`,
        attempts: 0,
      };
    const attempt = Number(fields.attempt);
    const maxAttempts = Number(fields.max);
    const timeoutMs = Number(fields.timeout);
    if (!taskId || !Number.isInteger(attempt) || !Number.isInteger(maxAttempts) || !(timeoutMs > 0))
      return {
        reason: DEAD_REASONS.malformed,
        error: `entry ${id} lacks id/attempt/max/timeout`,
        attempts: 0,
      };
    // The id's tag: the type, or the partition (`hot~1`), which is what a partition stream's type is named.
    let type: string;
    try {
      type = streamTagOfTaskId(taskId);
    } catch {
      return { reason: DEAD_REASONS.malformed, error: `entry ${id} has no valid task id`, attempts: attempt };
    }
    // The completion writes the record under this stream's type: an id of another type would not be found there.
    if (type !== stream.type.name)
      return {
        reason: DEAD_REASONS.malformed,
        error: `entry ${id} carries task id ${taskId} of type "${type}" in the "${stream.type.name}" stream`,
        attempts: attempt,
      };
    task.taskId = taskId;
    task.taskKey = this.d.keys.task(taskId);
    task.attempt = attempt;
    task.maxAttempts = maxAttempts;
    task.timeoutMs = timeoutMs;
    // A handed-back entry carries its earlier deliveries: one that kept killing workers stops here.
    const before = priorDeliveries(fields);
    if (before >= this.o.maxDeliveries)
      return {
        reason: DEAD_REASONS.deliveries,
        error: `delivered ${before} times without finishing`,
        attempts: attempt,
      };
    let payload: unknown;
    try {
      payload = JSON.parse(fields.payload ?? '');
    } catch {
      return { reason: DEAD_REASONS.malformed, error: `entry ${id} payload is not JSON`, attempts: attempt };
    }
    const parsed = stream.type.schema.safeParse(payload);
    if (!parsed.success)
      return { reason: DEAD_REASONS.invalidPayload, error: parsed.error.message, attempts: attempt };
    task.payload = parsed.data;
    return undefined;
  }

  /** The executor's report: frees the slot, then stores the outcome. */
  ended(task: ActiveTask, outcome: RunOutcome): void {
    this.freeSlot(task);
    const finishedAt = Date.now();
    this.d.reader.recordRun(task.lane, finishedAt - task.startedAt);
    // The failure write sets the record's status and attempts; a `running` write sent after it would undo that.
    this.d.writer.takePendingStart(task.taskId);
    task.trace?.ran(finishedAt);
    if (task.vanished) {
      task.trace?.settle('dead_lettered', DEAD_REASONS.entryDeleted);
      return this.settled(task);
    }
    // Handed back during stop: another consumer runs it.
    if (this.stopping && task.abort.aborted && !(outcome.ok === false && outcome.failure.timedOut)) {
      task.trace?.settle('handed_back');
      return this.settled(task);
    }
    if (outcome.ok) {
      let json: string;
      try {
        json = JSON.stringify(outcome.result ?? null);
      } catch (err) {
        // Every rerun would produce the same result: not worth retrying.
        outcome = {
          ok: false,
          failure: {
            text: `result is not JSON-serialisable: ${errorText(err)}`,
            nonRetryable: true,
            timedOut: false,
            outOfMemory: false,
          },
        };
        return this.afterFailure(task, outcome.failure);
      }
      const resultBytes = Buffer.byteLength(json);
      if (resultBytes > task.type.defaults.maxResultBytes)
        return this.afterFailure(task, {
          text: `result is ${resultBytes} bytes, more than the type's maxResultBytes (${task.type.defaults.maxResultBytes})`,
          nonRetryable: true,
          timedOut: false,
          outOfMemory: false,
          reason: DEAD_REASONS.resultTooLarge,
        });
      task.resultJson = json;
      task.finishedAt = finishedAt;
      this.d.writer.complete(task.entry.stream, task);
      return;
    }
    this.afterFailure(task, outcome.failure);
  }

  /** The writer's report on a completion. */
  stored(task: ActiveTask, outcome: boolean | undefined): void {
    task.trace?.settle(outcome === true ? 'succeeded' : outcome === false ? 'fenced' : 'not_stored');
    if (outcome === true) {
      const queuedAt = entryTime(task.entryId);
      this.d.latencies.add(task.finishedAt - queuedAt);
      this.d.slo?.record(task.type.name, task.lane, Date.now() - queuedAt);
      const waitMs = Math.max(0, task.startedAt - queuedAt);
      const runMs = task.finishedAt - task.startedAt;
      this.d.window?.succeeded(task.type.name, task.lane, waitMs, runMs);
      const events = this.d.events;
      if (events.listenerCount('task:succeeded'))
        events.emit('task:succeeded', {
          type: task.type.name,
          lane: task.lane,
          taskId: task.taskId,
          waitMs,
          runMs,
        });
    } else if (outcome === false) this.fenced(task.entry);
    this.settled(task);
  }

  progress(task: ActiveTask, info: Record<string, unknown>): void {
    this.d.log.debug('task progress', { taskId: task.taskId, ...info });
  }

  private afterFailure(task: ActiveTask, failure: TaskFailure): void {
    this.failed(task, failure)
      .catch((err: unknown) =>
        this.d.log.error('task bookkeeping failed', { error: err, entry: task.entryId }),
      )
      .finally(() => this.settled(task));
  }

  /** A failed run: dead-lettered when it cannot or may not run again, otherwise scheduled for a retry. */
  private async failed(task: ActiveTask, failure: TaskFailure): Promise<void> {
    const { entry, attempt } = task;
    task.trace?.failed(failure.text);
    const reason = deadReasonOf(failure, attempt, task.maxAttempts);
    if (reason) {
      await this.deadLetter(entry, reason, failure.text, attempt, task.trace);
      return;
    }
    const delayMs = Math.min(this.o.retryMaxDelayMs, this.o.retryBaseDelayMs * 2 ** (attempt - 1));
    const scheduled = await this.d.writer.retry(entry, {
      taskId: task.taskId,
      attempt,
      maxAttempts: task.maxAttempts,
      timeoutMs: task.timeoutMs,
      error: failure.text,
      delayMs,
    });
    task.trace?.settle(scheduled ? 'retrying' : 'fenced');
    if (!scheduled) return this.fenced(entry);
    this.d.window?.failed(task.type.name, task.lane);
    this.d.events.emit('task:retried', {
      type: task.type.name,
      lane: task.lane,
      attempt,
      error: failure.text,
    });
    this.d.promoteLater(entry.stream, delayMs);
  }

  async deadLetter(
    entry: Entry,
    reason: string,
    error: string,
    attempts: number,
    trace?: TaskTrace,
  ): Promise<void> {
    const meta = { type: entry.stream.type.name, lane: entry.stream.lane };
    const written = await this.d.writer.deadLetter(entry, reason, error, attempts);
    trace?.settle(written ? 'dead_lettered' : 'fenced', written ? reason : undefined);
    if (written) {
      // No result for its submitter: a miss against the objective.
      this.d.slo?.record(meta.type, meta.lane, undefined);
      this.d.window?.failed(meta.type, meta.lane);
      this.d.events.emit('task:dead', { ...meta, reason });
    } else this.fenced(entry);
  }

  private fenced(entry: Entry): void {
    this.d.log.warn('outcome not written: another consumer owns the entry now (this one was cut off)', {
      taskId: entry.fields.id ?? '',
    });
    this.d.events.emit('task:fenced', { type: entry.stream.type.name, lane: entry.stream.lane });
  }

  /** Keepalive found that a held entry's stream entry was deleted: its task ends dead, its run (if any) stops. */
  async endDeletedEntry(stream: StreamRef, id: string): Promise<void> {
    const buffered = this.d.reader.buffered[stream.lane];
    const i = buffered.findIndex((e) => e.id === id && e.stream.key === stream.key);
    let active: ActiveTask | undefined;
    for (const t of this.active) if (t.entry.id === id && t.entry.stream.key === stream.key) active = t;
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
    if (!active) this.d.reader.release(entry);
  }

  private freeSlot(task: ActiveTask): void {
    if (task.handlerDone) return;
    task.handlerDone = true;
    const reader = this.d.reader;
    reader.running[task.lane]--;
    reader.settling++;
    if (!this.stopping) {
      this.dispatch();
      reader.wake();
    }
  }

  /** The task's outcome is stored (or dropped): it leaves the worker. Called once per task. */
  private settled(task: ActiveTask): void {
    task.trace?.end();
    this.freeSlot(task);
    const reader = this.d.reader;
    reader.settling--;
    this.active.delete(task);
    reader.release(task.entry);
    if (!this.stopping) {
      this.dispatch();
      reader.wake();
    }
    if (this.active.size === 0 && this.drainWaiters.length) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }
}

/** Why a failed run ends the task now (dead-letter reason), or undefined when it is retried. */
function deadReasonOf(f: TaskFailure, attempt: number, maxAttempts: number): string | undefined {
  if (f.reason) return f.reason;
  if (f.outOfMemory) return DEAD_REASONS.memory;
  if (f.nonRetryable)
    return f.text.startsWith('UnrecoverableTaskError')
      ? DEAD_REASONS.unrecoverable
      : DEAD_REASONS.nonRetryable;
  if (attempt >= maxAttempts) return DEAD_REASONS.attempts;
  return undefined;
}

/**
 * Outcome writing: the `running` mark, results, retries, dead letters and hand-backs, each one Lua script that
 * stores and acknowledges atomically, fenced by ownership (see scripts.ts). Writes go through short outages;
 * a write that cannot land leaves the entry pending, to be redelivered.
 */
import type { Logger } from '../logger';
import { type Entry, errorText, packedFields, type StreamRef } from './entries';
import { streamTagOfTaskId, type Lane, type LaneKeys } from './keys';
import { isConnectionError, type RedisClient } from './redis-connections';
import { isOutOfMemoryError } from './redis-full';
import { COMPLETE, DEAD_LETTER, HAND_BACK, RETRY, runScript, START, TRACE_FIELDS } from './scripts';

/**
 * A successful run's outcome, as COMPLETE stores it. The worker's task object implements it: completing a task
 * allocates no promise or record of its own.
 */
export interface Completion {
  readonly taskId: string;
  readonly entryId: string;
  readonly resultJson: string;
  readonly finishedAt: number;
  readonly startedAt: number;
  readonly attempt: number;
  /**
   * Called once: `true` = stored and acknowledged; `false` = not stored, another consumer owns the entry now
   * (fenced); `undefined` = the write failed past its retries (the entry stays pending, to be redelivered).
   */
  stored(outcome: boolean | undefined): void;
}

/** A run whose `running` status write is queued (the worker's task object). */
export interface StartMark {
  readonly taskId: string;
  readonly taskKey: string;
  readonly attempt: number;
  readonly startedAt: number;
  readonly type: { readonly name: string };
}

interface CompletionBatch {
  stream: StreamRef;
  items: Completion[];
  /** Retries through an outage end here. */
  deadline: number;
  attempt: number;
}

export interface OutcomeWriterOptions {
  group: string;
  consumerName: string;
  retentionMs: number;
  deadLetterMaxLen: number;
  /** Bounds how long a write is retried through an outage. */
  minIdleMs: number;
  log: Logger;
  onWriteFailed: (meta: { type: string; lane: Lane; error: string }) => void;
}

export interface RetryPlan {
  taskId: string;
  /** The attempt that failed. */
  attempt: number;
  maxAttempts: number;
  timeoutMs: number;
  error: string;
  delayMs: number;
}

export class OutcomeWriter {
  private readonly pendingStarts = new Map<string, StartMark>();
  private startFlushQueued = false;
  private readonly completeBatches = new Map<string, Completion[]>();
  private readonly completeStreams = new Map<string, StreamRef>();
  private completeFlushQueued = false;
  private readonly retentionSec: number;
  /** The worker stopped: writes refused by a full Redis are not retried any more (their entries stay pending). */
  private stopped = false;

  constructor(
    private readonly cmd: RedisClient,
    private readonly keys: LaneKeys,
    private readonly o: OutcomeWriterOptions,
  ) {
    this.retentionSec = Math.ceil(o.retentionMs / 1000);
  }

  /**
   * Queues the `running` status write. It is sent one macrotask later, in one script call per type for everything
   * dispatched meanwhile; a task that finished before that (most fast tasks) skips it: its completion stores the
   * start time and attempt with the result, saving two commands per task.
   */
  markStarted(run: StartMark): void {
    this.pendingStarts.set(run.taskId, run);
    if (this.startFlushQueued) return;
    this.startFlushQueued = true;
    setImmediate(() => this.flushStarts());
  }

  private flushStarts(): void {
    this.startFlushQueued = false;
    const byType = new Map<string, StartMark[]>();
    for (const start of this.pendingStarts.values()) {
      const list = byType.get(start.type.name);
      if (list) list.push(start);
      else byType.set(start.type.name, [start]);
    }
    this.pendingStarts.clear();
    for (const starts of byType.values()) {
      runScript(
        this.cmd,
        START,
        starts.map((x) => x.taskKey),
        [starts[0]!.startedAt, ...starts.map((x) => x.attempt)],
      ).catch((err: unknown) => this.o.log.debug('could not mark tasks running', { error: err }));
    }
  }

  /** Takes back a task's unsent `running` write (its outcome write carries the start instead). */
  takePendingStart(taskId: string): void {
    this.pendingStarts.delete(taskId);
  }

  /**
   * Stores a result and acknowledges its entry, then calls `c.stored`. Completions of the same stream within one
   * tick share one script call; a call cut by a connection error is retried as a whole through short outages.
   */
  complete(stream: StreamRef, c: Completion): void {
    const batch = this.completeBatches.get(stream.key);
    if (batch) batch.push(c);
    else {
      this.completeBatches.set(stream.key, [c]);
      this.completeStreams.set(stream.key, stream);
    }
    if (this.completeFlushQueued) return;
    this.completeFlushQueued = true;
    setImmediate(() => this.flushCompletions());
  }

  private flushCompletions(): void {
    this.completeFlushQueued = false;
    const deadline = Date.now() + this.retryWindowMs();
    for (const [key, items] of this.completeBatches) {
      this.sendCompletions({ stream: this.completeStreams.get(key)!, items, deadline, attempt: 0 });
    }
    this.completeBatches.clear();
    this.completeStreams.clear();
  }

  private sendCompletions(batch: CompletionBatch): void {
    const { stream: s, items } = batch;
    const args: (string | number)[] = [
      this.o.group,
      this.retentionSec,
      this.keys.completions(s.type.name),
      this.o.consumerName,
      this.keys.taskPrefix(s.type.name),
    ];
    for (const i of items) args.push(i.entryId, i.taskId, i.resultJson, i.finishedAt, i.startedAt, i.attempt);
    runScript(this.cmd, COMPLETE, [s.key], args).then(
      (reply) => {
        const fenced = reply as string[];
        if (fenced.length === 0) for (const i of items) i.stored(true);
        else {
          const notStored = new Set(fenced);
          for (const i of items) i.stored(!notStored.has(i.entryId));
        }
      },
      (err: unknown) => {
        if (this.worthRetrying(err, batch.deadline)) {
          if (isOutOfMemoryError(err) && batch.attempt === 0) this.full(s);
          const delay = Math.min(100 * 2 ** batch.attempt++, 2000);
          setTimeout(() => this.sendCompletions(batch), delay);
          return;
        }
        this.writeFailed(s, err);
        for (const i of items) i.stored(undefined);
      },
    );
  }

  /** Records a failed attempt and schedules its retry; false when the entry is no longer this consumer's. */
  async retry(entry: Entry, plan: RetryPlan): Promise<boolean> {
    const { stream, id, fields } = entry;
    const member = JSON.stringify({
      id: plan.taskId,
      payload: fields.payload,
      attempt: String(plan.attempt + 1),
      max: String(plan.maxAttempts),
      timeout: String(plan.timeoutMs),
      at: fields.at ?? String(Date.now()),
      // The submitter's trace context (lane-tracing.ts), carried to the retry's entry by PROMOTE; absent if untraced.
      tp: fields[TRACE_FIELDS.traceparent],
      ts: fields[TRACE_FIELDS.tracestate],
    });
    const r = await this.withRetries(stream, () =>
      runScript(
        this.cmd,
        RETRY,
        [stream.key, this.keys.task(plan.taskId), this.keys.delayed(stream.type.name, stream.lane)],
        [this.o.group, id, plan.error, plan.attempt, Date.now() + plan.delayMs, member, this.o.consumerName],
      ),
    );
    return r === 1;
  }

  /**
   * Moves an entry to the dead-letter stream and marks its task dead. `fenced: false` skips the ownership check:
   * for an entry the janitor found deleted from its stream (no consumer holds it any more).
   */
  async deadLetter(
    entry: { stream: StreamRef; id: string; fields: Record<string, string> },
    reason: string,
    error: string,
    attempts: number,
    { fenced = true }: { fenced?: boolean } = {},
  ): Promise<boolean> {
    const { stream, id, fields } = entry;
    const taskId = fields.id ?? '';
    const keys = [stream.key, this.keys.deadLetters(stream.type.name, stream.lane)];
    let validTaskId = false;
    try {
      // An id that is not ours, or of another type than the stream (another slot): dead-letter the entry without
      // touching any task record.
      validTaskId = !!taskId && streamTagOfTaskId(taskId) === stream.type.name; // a partition's tag, if any
    } catch {
      validTaskId = false;
    }
    if (validTaskId) keys.push(this.keys.task(taskId));
    const r = await this.withRetries(stream, () =>
      runScript(this.cmd, DEAD_LETTER, keys, [
        this.o.group,
        id,
        validTaskId ? taskId : '',
        reason,
        error,
        attempts,
        fields.payload ?? JSON.stringify(fields),
        Date.now(),
        this.retentionSec,
        this.keys.completions(stream.type.name),
        fenced ? this.o.consumerName : '',
        this.o.deadLetterMaxLen,
      ]),
    );
    if (r === 1) this.o.log.warn('task dead-lettered', { taskId, entry: id, reason, error, attempts });
    return r === 1;
  }

  /** Hands an entry back for any consumer to run (graceful stop); its delivery count travels with it. */
  async handBack(entry: Entry): Promise<void> {
    const flat = packedFields(entry.fields);
    let taskKey: string;
    try {
      taskKey = this.keys.task(entry.fields.id ?? '');
    } catch {
      taskKey = this.keys.task(`${entry.stream.type.name}:unknown`);
    }
    try {
      await runScript(
        this.cmd,
        HAND_BACK,
        [entry.stream.key, taskKey],
        [this.o.group, this.o.consumerName, entry.id, ...flat],
      );
    } catch (err) {
      // Still pending under our name: a janitor reclaims it after minIdleMs.
      this.o.log.warn('hand back failed; entry will be reclaimed as an orphan', {
        entry: entry.id,
        error: err,
      });
    }
  }

  /** How long an outcome write is retried through an outage before the entry is left to orphan recovery. */
  private retryWindowMs(): number {
    return Math.max(this.o.minIdleMs * 6, 30_000);
  }

  private writeFailed(stream: StreamRef, err: unknown): void {
    this.o.onWriteFailed({ type: stream.type.name, lane: stream.lane, error: errorText(err) });
    this.o.log.error('could not store outcome; the entry stays pending and will be redelivered', {
      error: err,
    });
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * A write cut by a connection error is retried through short outages (then the entry is left to orphan
   * recovery). One refused by a full Redis is retried for as long as the worker holds the entry (its keepalive
   * does not need memory): leaving it to orphan recovery would run the handler again once space returns.
   */
  private worthRetrying(err: unknown, deadline: number): boolean {
    if (isOutOfMemoryError(err)) return !this.stopped;
    return isConnectionError(err) && Date.now() <= deadline;
  }

  private full(stream: StreamRef): void {
    this.o.log.error(
      'Redis is full (maxmemory, noeviction): outcome writes are retried until space returns',
      {
        type: stream.type.name,
        lane: stream.lane,
      },
    );
  }

  /** Outcome writes must land: retry through short outages, then leave the entry to orphan recovery. */
  private async withRetries<T>(stream: StreamRef, write: () => Promise<T>): Promise<T | undefined> {
    const deadline = Date.now() + this.retryWindowMs();
    for (let i = 0; ; i++) {
      try {
        return await write();
      } catch (err) {
        if (!this.worthRetrying(err, deadline)) {
          this.writeFailed(stream, err);
          return undefined;
        }
        if (isOutOfMemoryError(err) && i === 0) this.full(stream);
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** i, 2000)));
      }
    }
  }
}

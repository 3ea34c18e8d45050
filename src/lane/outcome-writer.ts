/**
 * Outcome writing: the `running` mark, results, retries, dead letters and hand-backs, each one Lua script that
 * stores and acknowledges atomically, fenced by ownership (see scripts.ts). Writes go through short outages;
 * a write that cannot land leaves the entry pending, to be redelivered.
 */
import type { Logger } from '../logger';
import { type Entry, errorText, type StreamRef } from './entries';
import type { Lane, LaneKeys } from './keys';
import { isConnectionError, type RedisClient } from './redis-connections';
import { COMPLETE, DEAD_LETTER, HAND_BACK, RETRY, runScript, START } from './scripts';

/** A successful run's outcome, as COMPLETE stores it. */
export interface Completion {
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
  private readonly pendingStarts = new Map<string, PendingStart>();
  private startFlushQueued = false;
  private readonly completeBatches = new Map<
    string,
    {
      stream: StreamRef;
      items: (Completion & { resolve: (stored: boolean) => void; reject: (e: unknown) => void })[];
    }
  >();
  private completeFlushQueued = false;
  private readonly retentionSec: number;

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
  markStarted(type: string, taskId: string, taskKey: string, attempt: number, startedAt: number): void {
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
        ).catch((err: unknown) => this.o.log.debug('could not mark tasks running', { error: err }));
      }
    });
  }

  /** Takes back a task's unsent `running` write (its outcome write carries the start instead). */
  takePendingStart(taskId: string): void {
    this.pendingStarts.delete(taskId);
  }

  /**
   * Stores a result and acknowledges its entry; resolves false when this consumer no longer owned the entry (the
   * result was not stored). Completions of the same stream within one tick share one script call.
   */
  complete(stream: StreamRef, c: Completion): Promise<boolean> {
    return this.withRetries(stream, () => this.completeBatched(stream, c)).then((r) => r === true);
  }

  private completeBatched(stream: StreamRef, c: Completion): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      let batch = this.completeBatches.get(stream.key);
      if (!batch) {
        batch = { stream, items: [] };
        this.completeBatches.set(stream.key, batch);
      }
      batch.items.push({ ...c, resolve, reject });
      if (this.completeFlushQueued) return;
      this.completeFlushQueued = true;
      setImmediate(() => this.flushCompletions());
    });
  }

  private flushCompletions(): void {
    this.completeFlushQueued = false;
    const batches = [...this.completeBatches.values()];
    this.completeBatches.clear();
    for (const { stream: s, items } of batches) {
      runScript(
        this.cmd,
        COMPLETE,
        [s.key, ...items.map((i) => i.taskKey)],
        [
          this.o.group,
          this.retentionSec,
          this.keys.completions(s.type.name),
          this.o.consumerName,
          ...items.flatMap((i) => [i.entryId, i.taskId, i.resultJson, i.finishedAt, i.startedAt, i.attempt]),
        ],
      ).then(
        (acked) => {
          const stored = new Set(acked as string[]);
          for (const i of items) i.resolve(stored.has(i.entryId));
        },
        (err: unknown) => items.forEach((i) => i.reject(err)),
      );
    }
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
    if (taskId) {
      try {
        keys.push(this.keys.task(taskId));
        validTaskId = true;
      } catch {
        // An id that is not ours: dead-letter the entry without touching any task record.
      }
    }
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
    const flat = Object.entries(entry.fields).flat();
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

  /** Outcome writes must land: retry through short outages, then leave the entry to orphan recovery. */
  private async withRetries<T>(stream: StreamRef, write: () => Promise<T>): Promise<T | undefined> {
    const deadline = Date.now() + Math.max(this.o.minIdleMs * 6, 30_000);
    for (let i = 0; ; i++) {
      try {
        return await write();
      } catch (err) {
        if (!isConnectionError(err) || Date.now() > deadline) {
          this.o.onWriteFailed({ type: stream.type.name, lane: stream.lane, error: errorText(err) });
          this.o.log.error('could not store outcome; the entry stays pending and will be redelivered', {
            error: err,
          });
          return undefined;
        }
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** i, 2000)));
      }
    }
  }
}

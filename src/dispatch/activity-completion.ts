/**
 * The lane side of lane-dispatched saga steps: wraps an agent handler into a lane task type (`step.<activity>`) that
 * runs the handler for one Temporal activity attempt and completes that activity with its task token through
 * Temporal's async-completion client (`client.activity`).
 *
 * While the handler runs the task heartbeats the activity (every `heartbeatIntervalMs`), which is how it learns
 * what Temporal decided meanwhile:
 * - cancel requested (`ActivityCancelledError`): the handler's signal is aborted; once it stopped the cancellation
 *   is reported (`reportCancellation`), so the saga's rollback starts after the step really stopped;
 * - the attempt is gone (`ActivityNotFoundError`: timed out, or completed by an earlier delivery of this task): the
 *   handler is aborted and its outcome dropped, nothing is written to Temporal.
 * On success the activity is completed with the value and the lane task that ran it (`LaneStepResult`); on failure it
 * is failed, with agent errors that retrying cannot fix kept non-retryable, so Temporal does not retry them.
 *
 * Temporal is the one retry authority: a failure is reported to Temporal and ends the lane task (it is never thrown
 * into the lane's retries). A lane worker that dies mid-step is still covered by the lane: its entry is reclaimed and
 * rerun with the same task token, and a heartbeat before the rerun's handler drops it when the activity already
 * finished. Only reruns and late starts pay that Temporal call: the lane tells a first delivery from a redelivery
 * (`ctx.redelivered`, no round trip), and a first delivery that waited past `uncheckedFirstRunMs` checks too. Where
 * a context does not say, the `runLedger` does: the first run of a lane task claims a Redis key (`SET … NX`), and a
 * run that finds the key taken is a rerun; first runs still write that key (without waiting) for lane workers of the
 * version before `redelivered`.
 *
 * An awaited step (a local activity's dispatch, src/dispatch/lane-dispatch-awaited.ts) comes without a task token:
 * nothing is written to Temporal, the lane task's result is the step's outcome (value or failure) and the dispatcher
 * waits for it. Instead of heartbeats the run polls the dispatcher's mark that the attempt is over (`stepCancelKey`,
 * in the `runLedger`'s Redis), before the handler and every `heartbeatIntervalMs` while it runs, and drops a task that
 * starts after its deadline (`deadlineMs`). A lane worker without a `runLedger` refuses awaited steps (non-retryable):
 * nothing could stop them.
 */
import {
  ActivityCancelledError,
  ActivityNotFoundError,
  ActivityPausedError,
  ActivityResetError,
  type AsyncCompletionClient,
} from '@temporalio/client';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { z } from 'zod';
import { createLogger, type Logger } from '../logger';
import { inSpan, tracingEnabled } from '../observability/tracing';
import { laneStepCancellation, laneStepResult, type LaneStepRef } from './lane-step';
import {
  STEP_TASK_MAX_ATTEMPTS,
  stepCancelKey,
  stepTaskPayloadSchema,
  stepTaskType,
  type StepActivityRef,
  type StepTaskPayload,
} from './activity-step-contract';
import { LaneOptionsError } from '../lane/errors';
import type { Lane } from '../lane/keys';
import type { RedisClient } from '../lane/redis-connections';
import { defineTaskType, type TaskContext, type TaskType, type TaskTypeDefaults } from '../lane/task-types';

/** What a step handler gets besides its input. */
export interface StepHandlerContext {
  /** Aborted when Temporal cancels the activity, the attempt is gone, or the lane stops the task. */
  signal: AbortSignal;
  /** Progress: sent as the details of the next heartbeat (the Temporal UI shows them; a retry can resume from them). */
  onProgress(details: Record<string, unknown>): void;
  /** The activity attempt this run completes. */
  activity: StepActivityRef;
  /**
   * Every argument the workflow passed the activity (the first is the handler's `input`), for an activity that takes
   * several; the dispatch's lane hint is not among them.
   */
  args: readonly unknown[];
  /** The lane task running it. */
  taskId: string;
  lane: Lane;
}

/** Failure type of an awaited step a lane worker without a mark store (`runLedger`) refuses. */
export const AWAITED_STEP_REFUSED_FAILURE = 'AwaitedStepRefused';

export type StepHandler<I = never, O = unknown> = (input: I, ctx: StepHandlerContext) => Promise<O>;

/**
 * What the lane task records as its result: what it wrote to Temporal (a dispatched step's value goes to Temporal
 * only); for an awaited step, the outcome itself, value included (kept with the record for the lane's retention).
 */
export interface StepTaskOutcome {
  activity: 'completed' | 'failed' | 'cancelled' | 'dropped';
  /** The failure reported, for `failed`; why the outcome was dropped, for `dropped`. */
  error?: string;
  /** For `failed`: Temporal will not retry it. */
  nonRetryable?: boolean;
  /** An awaited step's value, `completed`: the agent's value in its `LaneStepResult` envelope. */
  value?: unknown;
  /** An awaited step's failure, `failed`: its type and details, for the dispatcher to rethrow. */
  failureType?: string;
  details?: unknown[];
}

export interface ActivityStepTypeOptions {
  /** Temporal's async-completion client: `new Client({ connection }).activity`. */
  completion: AsyncCompletionClient;
  /**
   * How often a running step heartbeats its activity, i.e. how soon it learns of a cancel or a timeout.
   * @defaultValue 250
   */
  heartbeatIntervalMs?: number;
  /**
   * A first delivery of a step task picked up within this long of its submit starts its agent without first checking
   * that its activity attempt is still open (one Temporal call saved per step); one that waited longer, and every
   * redelivery, checks (its activity may have timed out meanwhile). Keep it below the steps' heartbeat timeouts.
   * @defaultValue 500
   */
  uncheckedFirstRunMs?: number;
  /**
   * How long a write to Temporal (complete, fail, report cancellation) is retried through a Temporal outage before
   * the lane task gives up (Temporal's timeouts then retry the activity).
   * @defaultValue 30000
   */
  writeRetryMs?: number;
  /** Lane task type defaults (timeoutMs is set per task by the dispatcher). @defaultValue lane `standard` */
  defaults?: Partial<Omit<TaskTypeDefaults, 'maxAttempts'>>;
  /** @defaultValue a logger at info */
  logger?: Logger;
  /**
   * Where first runs of step tasks are recorded (`SET <keyPrefix>:step-run:<taskId> NX PX`), so a run whose context
   * does not say whether it is a redelivery (`ctx.redelivered` undefined) heartbeats before its handler only if the
   * key was taken. The lane's own contexts say, so their first runs write the key without waiting for it (for older
   * lane workers that rerun the task) and redeliveries always heartbeat. A Redis error counts as a possible rerun.
   * Its Redis also holds awaited steps' over-marks: a worker without it refuses awaited steps (tokenless tasks).
   * @defaultValue none: every run heartbeats before its handler, awaited steps are refused
   */
  runLedger?: StepRunLedger;
}

/** `runLedger`: the Redis connection and key prefix (the lane's own: `config.keyPrefix`). */
export interface StepRunLedger {
  /** `set` for the ledger; `exists` for awaited steps' over-marks. */
  redis: Pick<RedisClient, 'set' | 'exists'>;
  keyPrefix: string;
  /**
   * How long a first run is remembered. A rerun comes once the janitor finds the first run's entry idle (seconds,
   * while any lane worker lives); one later than this (every lane worker down that long) is taken for a first run and
   * skips the check, and its outcome is still dropped when its attempt is over (the completion is refused).
   * @defaultValue 900000 (15 minutes)
   */
  ttlMs?: number;
}

/**
 * Whether the run may skip the check that its attempt is still open. Yes for a first delivery (`ctx.redelivered ===
 * false`) that waited less than `uncheckedMs` (`uncheckedFirstRunMs`): nothing can have finished its attempt, and a
 * cancel meanwhile reaches it with the first periodic heartbeat. One that waited longer (a backlog, no worker for its
 * type) checks: its activity may have timed out meanwhile (a heartbeat timeout counts from the dispatch, and nobody
 * heartbeats a step before its run starts), and Temporal, not the lane, says so. The ledger is still written for a
 * first delivery, without waiting, for lane workers of the version before `redelivered` that rerun this task and
 * ask it. A redelivery always checks. Where the lane does not say (a context without `redelivered`), the ledger
 * decides (one `SET NX` round trip), as before.
 */
async function isFirstRun(
  ledger: StepRunLedger | undefined,
  ctx: TaskContext,
  uncheckedMs: number,
): Promise<boolean> {
  if (ctx.redelivered === true || ctx.attempt > 1) return false;
  if (ctx.redelivered === false) {
    if (ledger) void claimFirstRun(ledger, ctx.taskId);
    return ctx.enqueuedAt !== undefined && Date.now() - ctx.enqueuedAt < uncheckedMs;
  }
  return ledger ? claimFirstRun(ledger, ctx.taskId) : false;
}

/** True when this is the first run of the lane task (the ledger key was free and is now taken). */
async function claimFirstRun(ledger: StepRunLedger, taskId: string): Promise<boolean> {
  try {
    const key = `${ledger.keyPrefix}:step-run:${taskId}`;
    const set = await ledger.redis.set(key, '1', 'PX', ledger.ttlMs ?? 900_000, 'NX');
    return set === 'OK';
  } catch {
    return false;
  }
}

const optionsSchema = z.object({
  heartbeatIntervalMs: z.number().int().min(10).max(60_000).default(250),
  uncheckedFirstRunMs: z.number().int().min(0).max(600_000).default(500),
  writeRetryMs: z.number().int().min(0).max(600_000).default(30_000),
});

/** Why a heartbeat stopped the handler. */
type StopReason =
  { kind: 'cancelled' } | { kind: 'gone'; error: string } | { kind: 'paused-or-reset'; error: string };

/** Lane task types for the given activity handlers: `{ reasoning: handler, … }` → `step.reasoning`, … */
export function activityStepTypes(
  handlers: Record<string, StepHandler<never>>,
  options: ActivityStepTypeOptions,
): TaskType[] {
  return Object.entries(handlers).map(
    ([activityType, handler]) => defineActivityStepType(activityType, handler, options) as TaskType,
  );
}

/** The activity's arguments as the workflow passed them. */
function stepArgs(payload: StepTaskPayload): readonly unknown[] {
  return [payload.input, ...(payload.moreArgs ?? [])];
}

/** The lane task type `step.<activityType>` that runs `handler` for dispatched attempts of that activity. */
export function defineActivityStepType<I, O>(
  activityType: string,
  handler: StepHandler<I, O>,
  options: ActivityStepTypeOptions,
): TaskType<StepTaskPayload, StepTaskOutcome> {
  const parsed = optionsSchema.safeParse({
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    uncheckedFirstRunMs: options.uncheckedFirstRunMs,
    writeRetryMs: options.writeRetryMs,
  });
  if (!parsed.success) {
    throw new LaneOptionsError(
      `activity step type "${activityType}": ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const { heartbeatIntervalMs, uncheckedFirstRunMs, writeRetryMs } = parsed.data;
  const { completion } = options;
  const log = (options.logger ?? createLogger()).child({ component: 'activity-step', activityType });
  return defineTaskType({
    name: stepTaskType(activityType),
    schema: stepTaskPayloadSchema,
    defaults: { lane: 'standard', ...options.defaults, maxAttempts: STEP_TASK_MAX_ATTEMPTS },
    handler: async (payload, ctx) => {
      if (payload.taskToken === undefined) return runAwaited(payload, ctx);
      const token = Buffer.from(payload.taskToken, 'base64');
      const meta = { taskId: ctx.taskId, ...payload.activity };
      const ref: LaneStepRef = { lane: payload.lane, taskId: ctx.taskId, attempt: payload.activity.attempt };
      // Before any work: a rerun of a task whose attempt already finished (its first worker completed it and died
      // before acknowledging the entry) or timed out stops here. With a ledger, a first run skips the call: no earlier
      // run can have finished the attempt (a cancel or timeout meanwhile reaches it with the first periodic heartbeat,
      // or as a refused completion).
      const firstRun = await isFirstRun(options.runLedger, ctx, uncheckedFirstRunMs);
      const before = firstRun ? undefined : await heartbeatOnce(completion, token, undefined);
      if (before?.kind === 'gone') return dropped(log, meta, before.error);
      if (before?.kind === 'cancelled') {
        return write(log, meta, writeRetryMs, 'cancelled', () =>
          completion.reportCancellation(token, laneStepCancellation(ref)),
        );
      }
      const run = new HeartbeatedRun(completion, token, heartbeatIntervalMs, ctx.signal, log, meta);
      let value: O;
      try {
        value = await tracedStep(payload, ctx, () =>
          handler(payload.input as I, {
            signal: run.signal,
            onProgress: (details) => run.progress(details),
            activity: payload.activity,
            args: stepArgs(payload),
            taskId: ctx.taskId,
            lane: payload.lane,
          }),
        );
      } catch (err) {
        const stop = await run.finish();
        return afterFailure(err, stop, ctx, token, ref);
      }
      const stop = await run.finish();
      if (stop?.kind === 'gone') return dropped(log, meta, stop.error);
      // A step that finished although a cancel was requested did its work: completing it gets it compensated.
      const result = laneStepResult(value, {
        lane: payload.lane,
        taskId: ctx.taskId,
        attempt: payload.activity.attempt,
      });
      return write(log, meta, writeRetryMs, 'completed', () => completion.complete(token, result));
    },
  });

  /** An awaited step: the outcome goes into the lane task's result, nothing to Temporal. */
  async function runAwaited(payload: StepTaskPayload, ctx: TaskContext): Promise<StepTaskOutcome> {
    const meta = { taskId: ctx.taskId, ...payload.activity };
    // Without the mark store nothing could stop the agent once its dispatcher gave up (cancel, timeout): refused.
    if (!options.runLedger) {
      const error = `awaited step ${activityType} refused: this lane worker has no runLedger, where awaited steps' over-marks live`;
      log.error(error, meta);
      return { activity: 'failed', error, nonRetryable: true, failureType: AWAITED_STEP_REFUSED_FAILURE };
    }
    // Queued past its deadline (a backlog, lane workers down): the attempt is over for Temporal, even if the mark expired.
    if (payload.deadlineMs !== undefined && Date.now() >= payload.deadlineMs) {
      return dropped(log, meta, 'the attempt passed its deadline before the step started');
    }
    const over = awaitedOver(options.runLedger, ctx.taskId);
    if (await over()) return dropped(log, meta, 'the dispatcher marked the attempt over');
    const run = new PolledRun(over, heartbeatIntervalMs, ctx.signal);
    let value: O;
    try {
      value = await tracedStep(payload, ctx, () =>
        handler(payload.input as I, {
          signal: run.signal,
          // No heartbeat to carry progress: a local activity has none (and awaited steps are quick).
          onProgress: () => undefined,
          activity: payload.activity,
          args: stepArgs(payload),
          taskId: ctx.taskId,
          lane: payload.lane,
        }),
      );
    } catch (err) {
      const stoppedByMark = await run.finish();
      if (stoppedByMark) return { activity: 'cancelled' };
      if (ctx.signal.aborted) throw err;
      const failure = toStepFailure(err);
      return {
        activity: 'failed',
        error: failure.message,
        nonRetryable: failure.nonRetryable === true,
        ...(failure.type ? { failureType: failure.type } : {}),
        ...(failure.details?.length ? { details: [...failure.details] } : {}),
      };
    }
    await run.finish();
    const ref = { lane: payload.lane, taskId: ctx.taskId, attempt: payload.activity.attempt };
    return { activity: 'completed', value: laneStepResult(value, ref) };
  }

  async function afterFailure(
    err: unknown,
    stop: StopReason | undefined,
    ctx: TaskContext,
    token: Uint8Array,
    ref: LaneStepRef,
  ): Promise<StepTaskOutcome> {
    const meta = { taskId: ctx.taskId, activityType };
    if (stop?.kind === 'gone') return dropped(log, meta, stop.error);
    if (stop?.kind === 'cancelled') {
      // With where it ran: the saga's state names the lane task of a step cancelled mid-run.
      return write(log, meta, writeRetryMs, 'cancelled', () =>
        completion.reportCancellation(token, laneStepCancellation(ref)),
      );
    }
    // The lane stopped the task (shutdown past the drain limit, lane timeout): it is handed back or ends on the
    // lane; Temporal is not told, its own timeouts decide about the attempt.
    if (ctx.signal.aborted) throw err;
    const failure =
      stop?.kind === 'paused-or-reset'
        ? ApplicationFailure.retryable(`activity ${stop.error}: step stopped`, 'ActivityPausedOrReset')
        : toStepFailure(err);
    const outcome = await write(log, meta, writeRetryMs, 'failed', () => completion.fail(token, failure));
    if (outcome.activity !== 'failed') return outcome;
    return { activity: 'failed', error: failure.message, nonRetryable: failure.nonRetryable === true };
  }
}

/**
 * The step's own span inside the lane task's run (while tracing): the lane task succeeds when it delivered the step's
 * failure to Temporal, so the step's outcome, and the agent's error, are shown here. Off, the handler runs as is.
 */
function tracedStep<O>(payload: StepTaskPayload, ctx: TaskContext, run: () => Promise<O>): Promise<O> {
  if (!tracingEnabled()) return run();
  const { workflowId, activityType, attempt } = payload.activity;
  return inSpan(
    `step ${activityType}`,
    {
      attributes: {
        'saga.id': workflowId,
        'saga.step': activityType,
        'saga.attempt': attempt,
        'lane.task.id': ctx.taskId,
      },
    },
    run,
  );
}

/**
 * The failure Temporal records for a handler error. A Temporal failure is kept as it is; an error that says retrying
 * cannot help (`nonRetryable: true`, or an agent error with `retryable: false`) becomes a non-retryable
 * `ApplicationFailure` typed by its `type` (or class name); anything else stays retryable.
 */
export function toStepFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  if (err instanceof TemporalFailure) {
    return ApplicationFailure.create({ message: e.message, type: e.name, cause: err });
  }
  const fields = e as Error & {
    type?: unknown;
    retryable?: unknown;
    nonRetryable?: unknown;
    details?: unknown;
  };
  const type = typeof fields.type === 'string' ? fields.type : e.name;
  const nonRetryable = fields.nonRetryable === true || fields.retryable === false;
  const details = fields.details !== undefined ? [fields.details] : [];
  return ApplicationFailure.create({ message: e.message, type, nonRetryable, details });
}

/** One heartbeat; what it says about the attempt (undefined: carry on; a transport error is not a verdict). */
async function heartbeatOnce(
  completion: AsyncCompletionClient,
  token: Uint8Array,
  details: unknown,
): Promise<StopReason | undefined> {
  try {
    await completion.heartbeat(token, details);
    return undefined;
  } catch (err) {
    return verdictOf(err);
  }
}

function verdictOf(err: unknown): StopReason | undefined {
  if (err instanceof ActivityCancelledError) return { kind: 'cancelled' };
  if (err instanceof ActivityNotFoundError) {
    return { kind: 'gone', error: 'activity attempt not found (timed out or already completed)' };
  }
  if (err instanceof ActivityPausedError) return { kind: 'paused-or-reset', error: 'paused' };
  if (err instanceof ActivityResetError) return { kind: 'paused-or-reset', error: 'reset' };
  return undefined;
}

/**
 * A handler run with its heartbeat loop: heartbeats one at a time every `intervalMs` (with the latest progress) and
 * aborts the handler's signal when a heartbeat says the attempt was cancelled or is gone, or when the lane aborts.
 */
class HeartbeatedRun {
  private readonly controller = new AbortController();
  private details: Record<string, unknown> | undefined;
  private stopReason: StopReason | undefined;
  private finished = false;
  private wakeUp?: () => void;
  private readonly loop: Promise<void>;

  constructor(
    private readonly completion: AsyncCompletionClient,
    private readonly token: Uint8Array,
    private readonly intervalMs: number,
    laneSignal: AbortSignal,
    private readonly log: Logger,
    private readonly meta: Record<string, unknown>,
  ) {
    if (laneSignal.aborted) this.controller.abort(laneSignal.reason);
    else laneSignal.addEventListener('abort', () => this.controller.abort(laneSignal.reason), { once: true });
    this.loop = this.heartbeatLoop();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  progress(details: Record<string, unknown>): void {
    this.details = details;
  }

  /** Stops heartbeating; resolves with what stopped the handler, if a heartbeat did. */
  async finish(): Promise<StopReason | undefined> {
    this.finished = true;
    this.wakeUp?.();
    await this.loop;
    return this.stopReason;
  }

  private async heartbeatLoop(): Promise<void> {
    let failures = 0;
    while (!this.finished) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.intervalMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (this.finished) return;
      try {
        await this.completion.heartbeat(this.token, this.details);
        failures = 0;
      } catch (err) {
        const verdict = verdictOf(err);
        if (!verdict) {
          // Temporal unreachable: keep the step going; its own heartbeat timeout decides if this lasts.
          if (failures++ % 20 === 0)
            this.log.warn('activity heartbeat failed', { ...this.meta, error: String(err) });
          continue;
        }
        this.stopReason = verdict;
        this.log.info('step stopped by Temporal', { ...this.meta, reason: verdict.kind });
        this.controller.abort(new Error(`activity ${verdict.kind}`));
        return;
      }
    }
  }
}

function dropped(log: Logger, meta: Record<string, unknown>, error: string): StepTaskOutcome {
  log.info('step outcome dropped: its activity attempt is over', { ...meta, error });
  return { activity: 'dropped', error };
}

/**
 * Writes the outcome to Temporal, retrying transport errors for up to `retryMs`. A write refused because the attempt
 * is gone (timed out meanwhile) is a drop; a write that keeps failing rethrows, ending the lane task as failed.
 */
async function write(
  log: Logger,
  meta: Record<string, unknown>,
  retryMs: number,
  activity: 'completed' | 'failed' | 'cancelled',
  send: () => Promise<void>,
): Promise<StepTaskOutcome> {
  const deadline = Date.now() + retryMs;
  for (let i = 0; ; i++) {
    try {
      await send();
      return { activity };
    } catch (err) {
      if (err instanceof ActivityNotFoundError) {
        return dropped(log, meta, 'activity attempt not found (timed out or already completed)');
      }
      if (Date.now() >= deadline) throw err;
      log.warn('could not write the step outcome to Temporal; retrying', { ...meta, error: String(err) });
      await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** i, 2_000)));
    }
  }
}

/** The check whether an awaited step's dispatcher marked the attempt over (a Redis error: not over, carry on). */
function awaitedOver(ledger: StepRunLedger, taskId: string): () => Promise<boolean> {
  const key = stepCancelKey(ledger.keyPrefix, taskId);
  return async () => {
    try {
      return (await ledger.redis.exists(key)) > 0;
    } catch {
      return false;
    }
  };
}

/**
 * An awaited step's handler run: every `intervalMs` it asks `over()` and aborts the handler's signal when the attempt
 * is over, or when the lane aborts.
 */
class PolledRun {
  private readonly controller = new AbortController();
  private stoppedByMark = false;
  private timer?: NodeJS.Timeout;
  private finished = false;

  constructor(
    private readonly over: (() => Promise<boolean>) | undefined,
    private readonly intervalMs: number,
    laneSignal: AbortSignal,
  ) {
    if (laneSignal.aborted) this.controller.abort(laneSignal.reason);
    else laneSignal.addEventListener('abort', () => this.controller.abort(laneSignal.reason), { once: true });
    this.schedule();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private schedule(): void {
    if (!this.over || this.finished) return;
    this.timer = setTimeout(() => {
      void this.over!().then((over) => {
        if (this.finished) return;
        if (!over) return this.schedule();
        this.stoppedByMark = true;
        this.controller.abort(new Error('step attempt over: cancelled or timed out'));
      });
    }, this.intervalMs);
  }

  /** Stops polling; true when the mark stopped the handler. */
  async finish(): Promise<boolean> {
    this.finished = true;
    clearTimeout(this.timer);
    return this.stoppedByMark;
  }
}

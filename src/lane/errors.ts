/**
 * The express lane's named errors: each says what was wrong and what to do about it. They reach logs and MCP
 * clients (read-only ones too), so an address is shown without its credentials.
 */
import { redactText, redactUrl } from '../logger';

export class LaneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Submitted a task type no registry entry exists for. */
export class UnknownTaskTypeError extends LaneError {
  constructor(
    readonly type: string,
    known: string[],
  ) {
    super(
      `Unknown task type "${type}". Registered types: ${known.length ? known.join(', ') : '(none)'}. ` +
        'Register it with defineTaskType() and pass it to the client.',
    );
  }
}

/** The payload does not match the task type's zod schema. */
export class InvalidPayloadError extends LaneError {
  constructor(
    readonly type: string,
    readonly issues: string[],
  ) {
    super(`Invalid payload for task type "${type}": ${issues.join('; ')}`);
  }
}

/** The serialized payload is larger than the type allows. */
export class PayloadTooLargeError extends LaneError {
  constructor(
    readonly type: string,
    readonly bytes: number,
    readonly limitBytes: number,
  ) {
    super(
      `Payload for task type "${type}" is ${bytes} bytes, over the ${limitBytes}-byte limit. ` +
        'Store large inputs elsewhere (e.g. an artifact key) and pass a reference.',
    );
  }
}

/** Redis did not answer: the submit was NOT accepted. */
export class RedisUnavailableError extends LaneError {
  /** The Redis address, without its credentials (`redis://user:***@host:6379`). */
  readonly url: string;
  constructor(url: string, cause: string) {
    const shown = redactUrl(url);
    super(
      `Redis is unavailable at ${shown} (${redactText(cause)}); the task was not accepted. Retry when Redis is back.`,
    );
    this.url = shown;
  }
}

/** A submit/worker option is out of range. */
export class LaneOptionsError extends LaneError {}

/** `result()` waited `waitMs` and the task had not finished. */
export class TaskWaitTimeoutError extends LaneError {
  constructor(
    readonly taskId: string,
    readonly waitMs: number,
    readonly lastStatus: string | undefined,
  ) {
    super(`Task ${taskId} did not finish within ${waitMs} ms (status: ${lastStatus ?? 'unknown'}).`);
  }
}

/** No task with this id (never submitted, or its record expired). */
export class TaskNotFoundError extends LaneError {
  constructor(readonly taskId: string) {
    super(`No task ${taskId}: it was never submitted here or its record expired.`);
  }
}

/** A handler ran past the task's `timeoutMs`. Retried like any other failure. */
export class TaskTimeoutError extends LaneError {
  constructor(timeoutMs: number) {
    super(`Handler did not finish within ${timeoutMs} ms`);
  }
}

/**
 * Throw from a handler to skip the remaining attempts: the task goes straight to the dead-letter stream. Any error
 * with `nonRetryable === true` (Temporal's `ApplicationFailure` style) is treated the same way.
 */
export class UnrecoverableTaskError extends LaneError {
  readonly nonRetryable = true;
}

/** A submit would push a type's lane past its backlog limit: nothing was enqueued. */
export class BacklogFullError extends LaneError {
  constructor(
    readonly type: string,
    readonly lane: string,
    readonly limit: number,
    readonly backlog: number,
  ) {
    super(
      `The ${lane} lane of task type "${type}" holds ${backlog} tasks, at its limit of ${limit} ` +
        '(defaults.maxBacklog): the submit was refused. Retry later, add workers, or raise the limit.',
    );
  }
}

/** A type's lane holds `defaults.maxBacklogBytes` of entries (Redis's estimate of the stream's memory). */
export class BacklogBytesFullError extends LaneError {
  constructor(
    readonly type: string,
    readonly lane: string,
    readonly limitBytes: number,
    readonly backlogBytes: number,
  ) {
    super(
      `The ${lane} lane of task type "${type}" holds about ${backlogBytes} bytes of tasks, at its limit of ` +
        `${limitBytes} (defaults.maxBacklogBytes): the submit was refused. Retry later, add workers, or raise the limit.`,
    );
  }
}

/** An idempotency key was reused with a different payload. */
export class IdempotencyConflictError extends LaneError {
  constructor(
    readonly type: string,
    readonly idempotencyKey: string,
    readonly firstTaskId: string,
  ) {
    super(
      `Idempotency key "${idempotencyKey}" of task type "${type}" was first used for task ${firstTaskId} with a ` +
        'different payload; nothing was enqueued. Use a new key for a different request.',
    );
  }
}

/**
 * A `durable` submit whose write no replica acknowledged in time. The tasks ARE enqueued on the master; they are
 * only at risk if that master fails before its replica catches up (Redis replication is asynchronous).
 */
export class NotReplicatedError extends LaneError {
  constructor(
    readonly taskIds: string[],
    readonly waitMs: number,
  ) {
    super(
      `No replica acknowledged the submit of ${taskIds.length} task(s) within ${waitMs} ms (first: ${taskIds[0] ?? '-'}). ` +
        'They are enqueued, but a failover before replication would lose them: check the replicas ' +
        '(INFO replication), raise durableWaitMs, or resubmit with the same idempotency key.',
    );
  }
}

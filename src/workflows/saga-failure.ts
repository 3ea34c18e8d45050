/**
 * The one failure a saga ends with after a rollback, like the Java SDK's `Saga.CompensationException` but carrying
 * every outcome: an `ApplicationFailure` of type `SagaRolledBack` (every compensation succeeded) or
 * `SagaCompensationFailed` (at least one failed; its message and `details` list each failed compensation with its
 * step and error), whose `cause` is the original error. Deterministic code: bundled into workflows, also imported
 * by clients to read the details.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { CompensationRecord, SagaError } from './saga-contract';

/** Failure type of a saga whose compensations all succeeded. */
export const SAGA_ROLLED_BACK_FAILURE = 'SagaRolledBack';
/** Failure type of a saga where at least one compensation failed (see `failedCompensations` in its details). */
export const SAGA_COMPENSATION_FAILED_FAILURE = 'SagaCompensationFailed';

export interface FailedCompensation {
  step: string;
  error: string;
  attempts?: number;
}

/**
 * `details` of the saga's failure, in this order: `[error, compensations, failedCompensations]` (the first two as
 * before the third existed, so readers of older sagas keep working).
 */
export type SagaFailureDetails = [SagaError, CompensationRecord[], FailedCompensation[]];

export function sagaRollbackFailure(
  error: SagaError,
  compensations: CompensationRecord[],
  cause: unknown,
): ApplicationFailure {
  const failed: FailedCompensation[] = compensations
    .filter((c) => c.status === 'failed')
    .map((c) => ({ step: c.step, error: c.error ?? 'unknown error', attempts: c.attempts }));
  const skipped = compensations.filter((c) => c.status === 'skipped').map((c) => `"${c.step}"`);
  const message =
    failed.length === 0
      ? `${error.message}; rolled back`
      : `${error.message}; rollback incomplete: ` +
        failed.map((f) => `compensation of "${f.step}" failed: ${f.error}`).join('; ') +
        (skipped.length > 0 ? `; not run after the first failure: ${skipped.join(', ')}` : '');
  const details: SagaFailureDetails = [error, compensations, failed];
  return ApplicationFailure.create({
    type: failed.length === 0 ? SAGA_ROLLED_BACK_FAILURE : SAGA_COMPENSATION_FAILED_FAILURE,
    message,
    nonRetryable: true,
    details,
    cause: cause instanceof Error ? cause : undefined,
  });
}

/**
 * Finds the saga's rollback failure in an error chain (a client's `WorkflowFailedError`, or the failure a child
 * saga threw in a parent workflow) and returns its parts; undefined for any other error.
 */
export function sagaFailureDetails(err: unknown):
  | {
      type: string;
      error: SagaError;
      compensations: CompensationRecord[];
      failedCompensations: FailedCompensation[];
    }
  | undefined {
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    const { type, details } = current as { type?: string; details?: unknown[] };
    if ((type === SAGA_ROLLED_BACK_FAILURE || type === SAGA_COMPENSATION_FAILED_FAILURE) && details) {
      const [error, compensations, failedCompensations] = details as Partial<SagaFailureDetails>;
      if (error && compensations) {
        return {
          type,
          error,
          compensations,
          failedCompensations:
            failedCompensations ??
            compensations
              .filter((c) => c.status === 'failed')
              .map((c) => ({ step: c.step, error: c.error ?? 'unknown error' })),
        };
      }
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The innermost message of a Temporal failure chain (ActivityFailure → ApplicationFailure → …). */
export function rootMessage(err: unknown): string {
  let current: unknown = err;
  let message = String(err);
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    message = current.message;
    current = (current as { cause?: unknown }).cause;
  }
  return message;
}

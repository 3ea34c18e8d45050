/** Pure parts of the saga engine: the rollback failure, reading it back, and the step-attempt envelope. */
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { stepAttemptActivityInterceptor } from '../../src/runtime/step-attempt-interceptor';
import type { CompensationRecord, SagaError } from '../../src/workflows/saga-contract';
import { sagaFailureDetails, sagaRollbackFailure } from '../../src/workflows/saga-failure';
import { STEP_ATTEMPT_HEADER, unwrapStepAttempt } from '../../src/workflows/step-attempts';

const error: SagaError = { reason: 'step_failed', step: 'ml', message: 'step "ml" failed: no data' };

describe('sagaRollbackFailure', () => {
  it('is SagaRolledBack when every compensation succeeded, with the original error as cause', () => {
    const cause = new Error('no data');
    const failure = sagaRollbackFailure(error, [{ step: 'codegen', status: 'completed' }], cause);
    expect(failure.type).toBe('SagaRolledBack');
    expect(failure.message).toBe('step "ml" failed: no data; rolled back');
    expect(failure.cause).toBe(cause);
    expect(failure.nonRetryable).toBe(true);
  });

  it('is SagaCompensationFailed listing every failed compensation, and what was skipped', () => {
    const compensations: CompensationRecord[] = [
      { step: 'codegen', status: 'failed', error: 'redis down', attempts: 3 },
      { step: 'reasoning', status: 'failed', error: 'cache gone' },
      { step: 'setup', status: 'skipped' },
    ];
    const failure = sagaRollbackFailure(error, compensations, undefined);
    expect(failure.type).toBe('SagaCompensationFailed');
    expect(failure.message).toBe(
      'step "ml" failed: no data; rollback incomplete: compensation of "codegen" failed: redis down; ' +
        'compensation of "reasoning" failed: cache gone; not run after the first failure: "setup"',
    );
    expect(failure.details).toEqual([
      error,
      compensations,
      [
        { step: 'codegen', error: 'redis down', attempts: 3 },
        { step: 'reasoning', error: 'cache gone', attempts: undefined },
      ],
    ]);
  });
});

describe('sagaFailureDetails', () => {
  it('finds the saga failure anywhere in an error chain', () => {
    const failure = sagaRollbackFailure(
      error,
      [{ step: 'codegen', status: 'failed', error: 'x' }],
      undefined,
    );
    const wrapped = new Error('Workflow execution failed', { cause: failure });
    expect(sagaFailureDetails(wrapped)).toEqual({
      type: 'SagaCompensationFailed',
      error,
      compensations: [{ step: 'codegen', status: 'failed', error: 'x' }],
      failedCompensations: [{ step: 'codegen', error: 'x' }],
    });
  });

  it('reads failures of sagas that ended before failedCompensations existed (two details)', () => {
    const old = ApplicationFailure.create({
      type: 'SagaCompensationFailed',
      message: 'old',
      details: [error, [{ step: 'ml', status: 'failed', error: 'gone' }]],
    });
    expect(sagaFailureDetails(old)?.failedCompensations).toEqual([{ step: 'ml', error: 'gone' }]);
  });

  it('is undefined for other errors', () => {
    expect(sagaFailureDetails(new Error('plain'))).toBeUndefined();
    expect(sagaFailureDetails(ApplicationFailure.create({ type: 'Other', message: 'x' }))).toBeUndefined();
    expect(sagaFailureDetails('not an error')).toBeUndefined();
  });
});

describe('step attempt envelope', () => {
  const headers = { [STEP_ATTEMPT_HEADER]: defaultPayloadConverter.toPayload(1) };
  const execute = (env: MockActivityEnvironment, withHeader: boolean, value: unknown) =>
    env.run(() =>
      stepAttemptActivityInterceptor({} as never).inbound!.execute!(
        { args: [], headers: withHeader ? headers : {} },
        async () => value,
      ),
    );

  it('wraps a marked activity result with its attempt, and the workflow side unwraps it', async () => {
    const wrapped = await execute(new MockActivityEnvironment({ attempt: 3 }), true, { ok: 1 });
    expect(unwrapStepAttempt(wrapped)).toEqual({ attempt: 3, value: { ok: 1 } });
  });

  it('leaves results of unmarked activities alone', async () => {
    const raw = await execute(new MockActivityEnvironment({ attempt: 2 }), false, 'plain');
    expect(raw).toBe('plain');
    expect(unwrapStepAttempt(raw)).toEqual({ value: 'plain' });
    expect(unwrapStepAttempt(undefined)).toEqual({ value: undefined });
  });
});

/** Named errors of the saga client: each says what was wrong and what to do about it (and never a credential). */
import { redactText, redactUrl } from '../logger';

export class SagaClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The pipeline input failed validation; `issues` lists each bad field. */
export class InvalidPipelineInputError extends SagaClientError {
  constructor(readonly issues: { field: string; message: string }[]) {
    super(
      'Invalid pipeline input: ' +
        issues.map((i) => `${i.field}: ${i.message}`).join('; ') +
        '. Expected { idea: string (3-2000 chars), symbol: string (1-20 of A-Z a-z 0-9 . _ -), ' +
        'dataset?: string, params?: { name: number }, strict?: boolean, timeoutMs?: integer 100..86400000, ' +
        "approval?: 'none' | 'before_backtest', approvalTimeoutMs?: integer 100..604800000 }.",
    );
  }
}

/** No saga (workflow execution) with this id, or run id, exists in the namespace. */
export class SagaNotFoundError extends SagaClientError {
  constructor(
    readonly sagaId: string,
    readonly runId?: string,
  ) {
    super(
      `No saga "${sagaId}"${runId ? ` with run id ${runId}` : ''} exists in this namespace. ` +
        'Check the id (list_sagas / `sagalane saga list` shows the known ones).',
    );
  }
}

/** The saga has already finished, so it cannot be cancelled any more. */
export class SagaAlreadyFinishedError extends SagaClientError {
  constructor(
    readonly sagaId: string,
    readonly state: string,
  ) {
    super(`Saga "${sagaId}" has already finished (state: ${state}); there is nothing left to cancel.`);
  }
}

/** `approve` / `reject` reached a saga that is not waiting for an answer (or whose approval was already answered). */
export class SagaNotAwaitingApprovalError extends SagaClientError {
  constructor(
    readonly sagaId: string,
    readonly state: string,
    detail?: string,
  ) {
    super(
      `Saga "${sagaId}" is not awaiting approval (state: ${state})${detail ? `: ${detail}` : ''}. ` +
        'Only a saga in state awaiting_approval takes one answer; check it with `sagalane saga get ' +
        `${sagaId}\`.`,
    );
  }
}

/** The saga ended without a result (rolled back, failed, cancelled, terminated or timed out). */
export class SagaFailedError extends SagaClientError {
  constructor(
    readonly sagaId: string,
    readonly state: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    // The reason is a failure's message from anywhere in the saga (an agent, a provider): no credential passes.
    super(`Saga "${sagaId}" ended in state ${state}: ${redactText(reason)}`, options);
  }
}

/** A list/history option is out of range or a page token is not one this client issued. */
export class SagaClientOptionsError extends SagaClientError {}

/** The Temporal frontend did not answer: nothing was started or read. */
export class TemporalUnavailableError extends SagaClientError {
  /** The frontend address, without credentials. */
  readonly address: string;
  constructor(address: string, reason: string, options?: { cause?: unknown }) {
    const shown = redactUrl(address);
    super(
      `Cannot reach Temporal at ${shown} (${redactText(reason)}). Start the local stack with \`sagalane dev\` ` +
        '(npm start) or point TEMPORAL_ADDRESS at a running server, then retry.',
      options,
    );
    this.address = shown;
  }
}

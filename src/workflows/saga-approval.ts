/**
 * Approval gates of a saga (human in the loop): `saga.approval(name, { timeoutMs })` waits in state
 * `awaiting_approval` for the update `approve` or `reject`. The updates' validators refuse an answer when nothing
 * is pending, when the pending approval was already answered or when the input is malformed, so a refused answer
 * is never written to the history. Deterministic workflow code only.
 */
import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import {
  SAGA_NOT_AWAITING_APPROVAL_FAILURE,
  approveUpdate,
  rejectUpdate,
  type ApprovalRecord,
  type ApproveInput,
  type RejectInput,
  type SagaStateView,
} from './saga-contract';

export interface ApprovalOptions {
  /** How long to wait for an answer; without one in time the saga rolls back (reason `approval_timeout`). */
  timeoutMs: number;
}

/** What `saga.approval` resolves with once approved. */
export interface ApprovalAnswer {
  decision: 'approved';
  approver?: string;
  comment?: string;
}

type Answer =
  | { decision: 'approved'; approver?: string; comment?: string }
  | { decision: 'rejected'; approver?: string; reason?: string };

interface PendingApproval {
  name: string;
  answer?: Answer;
}

const MAX_TEXT = 2000;

/** Registers the `approve` / `reject` handlers and holds the one approval a saga may be waiting for. */
export class ApprovalGate {
  private pending?: PendingApproval;

  constructor(private readonly view: () => SagaStateView<unknown, string>) {
    setHandler(approveUpdate, (input) => this.answer({ decision: 'approved', ...(input ?? {}) }), {
      validator: (input) => {
        this.assertAwaiting();
        checkFields(input, ['approver', 'comment']);
      },
    });
    setHandler(rejectUpdate, (input) => this.answer({ decision: 'rejected', ...(input ?? {}) }), {
      validator: (input) => {
        this.assertAwaiting();
        checkFields(input, ['reason', 'approver']);
      },
    });
  }

  /** True while an approval is pending; a handler that is still returning its answer keeps the saga open. */
  get awaiting(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Waits for the answer (or `timeoutMs`) in the caller's cancellation scope, so a cancel request or the saga's
   * rollback ends the wait. Fills `record` as the answer arrives.
   */
  async wait(name: string, timeoutMs: number, record: ApprovalRecord): Promise<Answer | undefined> {
    if (this.pending) {
      throw ApplicationFailure.nonRetryable(
        `saga approval "${name}" started while "${this.pending.name}" is still pending: one approval at a time`,
        'InvalidSagaOptions',
      );
    }
    const pending: PendingApproval = { name };
    this.pending = pending;
    try {
      const answered = await condition(() => pending.answer !== undefined, timeoutMs);
      const answer = answered ? pending.answer : undefined;
      Object.assign(record, answer ?? { decision: 'timed_out' }, answer ? { answeredAt: nowIso() } : {});
      return answer;
    } finally {
      this.pending = undefined;
    }
  }

  private assertAwaiting(): void {
    const view = this.view();
    if (!this.pending) {
      throw ApplicationFailure.nonRetryable(
        `saga "${view.sagaId}" is not awaiting approval (state: ${view.state})`,
        SAGA_NOT_AWAITING_APPROVAL_FAILURE,
      );
    }
    if (this.pending.answer) {
      throw ApplicationFailure.nonRetryable(
        `approval "${this.pending.name}" of saga "${view.sagaId}" was already answered (${this.pending.answer.decision})`,
        SAGA_NOT_AWAITING_APPROVAL_FAILURE,
      );
    }
  }

  /** Records the answer, then returns the saga's state once the saga took it (moved on, or began rolling back). */
  private async answer(answer: Answer): Promise<SagaStateView> {
    const pending = this.pending!;
    pending.answer = dropUndefined(answer);
    await condition(() => this.pending !== pending);
    return this.view() as SagaStateView;
  }
}

function checkFields(input: unknown, allowed: readonly string[]): void {
  if (input === undefined || input === null) return;
  if (typeof input !== 'object' || Array.isArray(input))
    throw new TypeError(`the answer must be an object with optional ${allowed.join(', ')}`);
  for (const [key, value] of Object.entries(input)) {
    if (!allowed.includes(key))
      throw new TypeError(`unknown field "${key}" in the answer (allowed: ${allowed.join(', ')})`);
    if (value !== undefined && (typeof value !== 'string' || value.length > MAX_TEXT))
      throw new TypeError(`"${key}" must be a string of at most ${MAX_TEXT} characters`);
  }
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function nowIso(): string {
  return new Date().toISOString();
}

// Re-exported for the approval's input types at the `sagalane/workflows` entry point.
export type { ApproveInput, RejectInput };

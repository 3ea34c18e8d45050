/**
 * A saga's approval gate as an MCP input request (2026-07-28): while the saga waits in `awaiting_approval`, its task
 * is `input_required` with one elicitation asking to approve or reject, naming the saga, its state, the gate and the
 * finished steps; the client answers it (`tasks/update`, or the retried `tools/call` of the multi-round-trip flow)
 * and the answer becomes the saga's `approve` / `reject` update, validated by the workflow as any other answer.
 */
import { z } from 'zod';
import { inputRequired, type InputRequest } from '@modelcontextprotocol/server';
import type { SagaClient } from '../client/saga-client';
import type { SagaStateView } from '../workflows/saga-contract';
import { followSaga } from './saga-follower';

/** The key of the approval in `inputRequests` / `inputResponses`. */
export const APPROVAL_INPUT_KEY = 'approval';

/** What the elicitation asks for. */
export const approvalAnswerSchema = z.object({
  decision: z.enum(['approve', 'reject']).describe('approve: the saga goes on; reject: it rolls back'),
  reason: z.string().max(500).optional().describe('Why (recorded in the saga; the rejection reason)'),
  approver: z.string().max(200).optional().describe('Who answers (recorded in the saga)'),
});

export type ApprovalAnswer = z.infer<typeof approvalAnswerSchema> & { comment?: string };

export function approvalMessage(state: SagaStateView<unknown, string>): string {
  const done = state.steps.filter((s) => s.status === 'completed').map((s) => s.name);
  return (
    `Saga ${state.sagaId} (${state.workflowType}) waits for approval` +
    `${state.currentStep ? ` at ${state.currentStep}` : ''}, state ${state.state}. ` +
    `Finished steps: ${done.length ? done.join(', ') : 'none'} (their artifacts are in the saga's state: get_saga ` +
    `or saga://${state.sagaId}). Approve to go on, or reject with a reason to roll back what was done.`
  );
}

/** The input request of a saga waiting at an approval gate. */
export function approvalInputRequests(state: SagaStateView<unknown, string>): Record<string, InputRequest> {
  return {
    [APPROVAL_INPUT_KEY]: inputRequired.elicit({
      message: approvalMessage(state),
      requestedSchema: approvalAnswerSchema,
    }),
  };
}

/** The client's answer as an approval, or why it is not one. */
export function approvalAnswer(response: unknown): ApprovalAnswer | string {
  const elicitResult = z
    .object({ action: z.enum(['accept', 'decline', 'cancel']), content: z.unknown().optional() })
    .safeParse(response);
  if (!elicitResult.success)
    return 'The approval answer is not an elicitation result ({"action":"accept","content":{"decision":"approve"}})';
  const { action, content } = elicitResult.data;
  if (action === 'decline') return { decision: 'reject', reason: 'declined through MCP' };
  if (action === 'cancel') return 'The approval was cancelled, not answered: the saga still waits';
  const parsed = approvalAnswerSchema.safeParse(content);
  if (!parsed.success)
    return `The approval answer is malformed: ${parsed.error.issues
      .map((i) => `${i.path.join('.') || 'content'}: ${i.message}`)
      .join('; ')}`;
  return { ...parsed.data, comment: parsed.data.decision === 'approve' ? parsed.data.reason : undefined };
}

/**
 * Sends the answer as the saga's approve / reject update. The workflow's validator refuses an answer to a saga that
 * is not (or no longer) waiting: that comes back as a SagaClientError saying why, and the saga is unchanged.
 */
export async function applyApproval(
  sagas: SagaClient,
  sagaId: string,
  answer: ApprovalAnswer,
): Promise<void> {
  if (answer.decision === 'approve')
    await sagas.approve(sagaId, { approver: answer.approver, comment: answer.comment });
  else await sagas.reject(sagaId, { reason: answer.reason, approver: answer.approver });
}

/**
 * Follows the saga until it waits at an approval gate (its state then), or until it ends, `timeoutMs` passes or the
 * request is cancelled (undefined).
 */
export async function untilApprovalGate(
  sagas: SagaClient,
  sagaId: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<SagaStateView | undefined> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  let waiting: SagaStateView | undefined;
  try {
    // A transition's SagaState may name the gate itself (approve_backtest): ask the saga at each one.
    await followSaga(sagas, sagaId, {
      signal: stop.signal,
      onTransition: async () => {
        const state = await sagas.getState(sagaId);
        if (state.state !== 'awaiting_approval') return;
        waiting = state;
        stop.abort();
      },
    });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
  return waiting;
}

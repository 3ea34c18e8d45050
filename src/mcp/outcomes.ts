/**
 * The result of a call that waits for a saga or a lane task to finish. A plain `start_pipeline` / `submit_task`
 * that waits and a task's `tasks/result` both build their answer here, so the two are the same by construction.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { SagaFailedError } from '../client/errors';
import type { SagaClient } from '../client/saga-client';
import type { ExpressClient, TaskInfo } from '../lane/express-client';
import { TaskNotFoundError, TaskWaitTimeoutError } from '../lane/errors';
import { errorResult, okResult } from './tool-results';

/**
 * Waits for the saga's run to close and answers with its final state (an `isError` result unless completed). The
 * signal stops the wait (the call then rejects).
 */
export async function sagaOutcome(
  sagas: SagaClient,
  sagaId: string,
  options: { signal?: AbortSignal } = {},
): Promise<CallToolResult> {
  try {
    await sagas.result(sagaId, { signal: options.signal });
  } catch (err) {
    // How it ended is read from the state below; anything else (not found, Temporal down) is the answer.
    if (!(err instanceof SagaFailedError)) throw err;
  }
  return sagaStateResult(await sagas.getState(sagaId));
}

/** The final state of a saga as a tool result. */
export function sagaStateResult(state: Awaited<ReturnType<SagaClient['getState']>>): CallToolResult {
  if (state.state === 'completed') return okResult(state);
  const why = state.error?.message ?? 'no error recorded';
  return errorResult(
    `Saga "${state.sagaId}" ended in state ${state.state}: ${why}. ` +
      (state.state === 'failed'
        ? 'A compensation failed too: get_saga lists the compensations and their errors.'
        : 'Every finished step was rolled back; fix the cause and start a new pipeline.'),
    state,
  );
}

/**
 * Waits up to `waitMs` for the lane task to finish: succeeded → its info, dead → an `isError` result with it,
 * still running → its info with a note to ask again (only a plain call with a time bound gets that far).
 */
export async function laneOutcome(
  express: ExpressClient,
  taskId: string,
  waitMs: number,
): Promise<CallToolResult> {
  let info: TaskInfo;
  try {
    info = await express.result(taskId, { waitMs });
  } catch (err) {
    if (!(err instanceof TaskWaitTimeoutError)) throw err;
    const current = await express.get(taskId);
    if (!current) throw new TaskNotFoundError(taskId);
    return okResult({ ...current, note: `Not finished after ${waitMs} ms; call get_task again later.` });
  }
  return laneInfoResult(info);
}

export function laneInfoResult(info: TaskInfo): CallToolResult {
  if (info.status === 'dead')
    return errorResult(
      `Task ${info.taskId} is dead: it failed ${info.attempts} of ${info.maxAttempts} attempts, the last with: ` +
        `${info.error ?? 'no error recorded'}. It is in the dead-letter stream; fix the cause and submit again.`,
      info,
    );
  return okResult(info);
}

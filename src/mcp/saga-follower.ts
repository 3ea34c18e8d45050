/**
 * Follows a saga's transitions as they happen, from any process: every transition upserts the `SagaState` /
 * `SagaStep` search attributes, so the saga's history holds each one, in order, as an UpsertWorkflowSearchAttributes
 * event. A long poll of the history (`waitNewEvent`) wakes up on each new batch of events, so no transition is missed
 * however short it was (polling the `state` query would miss a step that takes less than the poll interval).
 */
import type { SagaClient } from '../client/saga-client';
import { SagaNotFoundError } from '../client/errors';
import { summarizeHistoryEvent } from '../client/history-events';
import type { SagaTransition } from './progress';

const CLOSING_EVENTS = new Set([
  'WorkflowExecutionCompleted',
  'WorkflowExecutionFailed',
  'WorkflowExecutionCanceled',
  'WorkflowExecutionTerminated',
  'WorkflowExecutionTimedOut',
  'WorkflowExecutionContinuedAsNew',
]);

export interface FollowOptions {
  /** Report only transitions recorded after this history event (e.g. the history length when subscribing). @defaultValue 0 (all) */
  afterEventId?: number;
  /** Stops following (the promise then resolves with `closed: false`). */
  signal: AbortSignal;
  /** Called once per transition, in order; awaited before the next one. */
  onTransition(transition: SagaTransition & { workflowType?: string; eventId: number }): void | Promise<void>;
}

/** Resolves once the saga's run closed (`closed: true`) or the signal fired. */
export async function followSaga(
  sagas: SagaClient,
  sagaId: string,
  options: FollowOptions,
): Promise<{ closed: boolean }> {
  const { client } = sagas;
  const decode = (p: Parameters<typeof client.options.loadedDataConverter.payloadConverter.fromPayload>[0]) =>
    client.options.loadedDataConverter.payloadConverter.fromPayload(p);
  const skipUpTo = options.afterEventId ?? 0;
  let token: Uint8Array | undefined;
  let last: SagaTransition | undefined;
  let workflowType: string | undefined;
  while (!options.signal.aborted) {
    let response;
    // One controller per call: the SDK adds an abort listener per call and would pile them up on a shared signal.
    const call = new AbortController();
    const abort = () => call.abort();
    options.signal.addEventListener('abort', abort, { once: true });
    try {
      response = await client.withAbortSignal(call.signal, () =>
        client.workflowService.getWorkflowExecutionHistory({
          namespace: sagas.namespace,
          execution: { workflowId: sagaId },
          nextPageToken: token,
          waitNewEvent: true,
          // The frontend warns above 256 events per page.
          maximumPageSize: 256,
        }),
      );
    } catch (err) {
      if (options.signal.aborted) return { closed: false };
      if (grpcCode(err) === 5) throw new SagaNotFoundError(sagaId);
      throw err;
    } finally {
      options.signal.removeEventListener('abort', abort);
    }
    for (const event of response.history?.events ?? []) {
      const summary = summarizeHistoryEvent(event, { includePayloads: false, maxPayloadChars: 16, decode });
      if (summary.type === 'WorkflowExecutionStarted') workflowType = summary.workflowType;
      const state = summary.searchAttributes?.SagaState;
      if (typeof state === 'string' && summary.eventId > skipUpTo) {
        const step = summary.searchAttributes?.SagaStep;
        const transition = { state, step: typeof step === 'string' ? step : undefined };
        if (last?.state !== transition.state || last.step !== transition.step) {
          last = transition;
          if (options.signal.aborted) return { closed: false };
          await options.onTransition({ ...transition, workflowType, eventId: summary.eventId });
        }
      }
      if (CLOSING_EVENTS.has(summary.type)) return { closed: true };
    }
    token = response.nextPageToken && response.nextPageToken.length > 0 ? response.nextPageToken : undefined;
    if (!token) return { closed: true };
  }
  return { closed: false };
}

function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

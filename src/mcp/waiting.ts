/**
 * Waiting for a saga or a lane task while telling the caller how it goes: one `notifications/progress` per saga
 * transition ("step n of m: name") or lane status change, on the progress token the caller gave. Used by every call
 * that waits: a plain `start_pipeline` / `submit_task` that waits, `get_task` with `waitMs`, and `tasks/result`.
 */
import type { ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import type { SagaClient } from '../client/saga-client';
import type { ExpressClient, TaskInfo } from '../lane/express-client';
import { TaskWaitTimeoutError } from '../lane/errors';
import { followSaga } from './saga-follower';
import { progressOf } from './progress';

export type ProgressToken = string | number;

/** Longest single wait on the lane: the signal is checked between two. */
const LANE_WAIT_SLICE_MS = 1000;

/** The bits of a request handler's `extra` that progress needs. */
export interface ProgressChannel {
  _meta?: { progressToken?: ProgressToken; [key: string]: unknown };
  signal: AbortSignal;
  sendNotification(notification: ServerNotification): Promise<void>;
}

/** The caller's progress token, if it gave one. */
export function progressTokenOf(extra: ProgressChannel): ProgressToken | undefined {
  const token = extra._meta?.progressToken;
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}

/**
 * Follows the saga until its run closes, sending one progress notification per transition (from its start, so a
 * late caller still sees every step so far). Resolves at once when the caller gave no progress token: the result
 * call that follows waits by itself then.
 */
export async function reportSagaProgress(
  sagas: SagaClient,
  sagaId: string,
  extra: ProgressChannel,
): Promise<void> {
  const token = progressTokenOf(extra);
  if (token === undefined) return;
  let previous = 0;
  const stepsSeen: string[] = [];
  await followSaga(sagas, sagaId, {
    signal: extra.signal,
    onTransition: async (t) => {
      const update = progressOf(t, { workflowType: t.workflowType, previous, stepsSeen });
      if (t.step && t.state === t.step && !stepsSeen.includes(t.step)) stepsSeen.push(t.step);
      previous = update.progress;
      await sendProgress(extra, token, update);
    },
  });
}

/**
 * Waits up to `waitMs` for a lane task to finish, sending a progress notification per status change (queued,
 * running, a retry, succeeded or dead). Resolves with the last info seen; the caller builds the result.
 */
export async function waitForLaneTask(
  express: ExpressClient,
  taskId: string,
  waitMs: number,
  extra: ProgressChannel,
): Promise<TaskInfo | undefined> {
  const token = progressTokenOf(extra);
  const deadline = Date.now() + waitMs;
  let previous = 0;
  let lastKey = '';
  for (;;) {
    const info = await express.get(taskId);
    const key = info ? `${info.status}/${info.attempts}` : 'missing';
    if (info && key !== lastKey && token !== undefined) {
      previous += 1;
      await sendProgress(extra, token, {
        progress: previous,
        message:
          info.status === 'running'
            ? `running (attempt ${info.attempts} of ${info.maxAttempts})`
            : info.status === 'queued' && info.error
              ? `queued for retry (last error: ${info.error})`
              : info.status,
      });
    }
    lastKey = key;
    if (!info || info.status === 'succeeded' || info.status === 'dead') return info;
    const left = deadline - Date.now();
    if (left <= 0 || extra.signal.aborted) return info;
    // The lane announces completions on pub/sub; the short wait also lets a start (queued -> running) be seen, and
    // a bounded one lets a caller that went away (the signal) stop the wait within a second.
    await express
      .result(taskId, { waitMs: Math.min(left, token === undefined ? LANE_WAIT_SLICE_MS : 250) })
      .catch((err: unknown) => {
        if (!(err instanceof TaskWaitTimeoutError)) throw err;
      });
  }
}

async function sendProgress(
  extra: ProgressChannel,
  progressToken: ProgressToken,
  update: { progress: number; total?: number; message: string },
): Promise<void> {
  await extra
    .sendNotification({ method: 'notifications/progress', params: { progressToken, ...update } })
    .catch(() => undefined); // a client that went away must not fail the wait
}

/**
 * `notifications/tasks` of the `io.modelcontextprotocol/tasks` extension: a `subscriptions/listen` stream that names
 * task ids in `notifications.taskIds` (from a client that declared the extension) gets the task's DetailedTask, the
 * same as `tasks/get` would answer then, once when it is followed and again at each change of its status (or status
 * message: `step 2 of 4: codegen` and the like), the last one with the result inlined. A saga task is followed by the
 * saga follower that feeds `subscriptions/listen` resource updates and progress (saga-follower.ts, through
 * `watchSaga`), so no transition is missed and nothing is polled; a lane task, which has no history to follow, is
 * read at its poll interval until it is finished. Both transports use this (modern-http.ts, modern-stdio.ts).
 */
import type { Task } from '@modelcontextprotocol/sdk/types.js';
import type { McpBackends } from './backends';
import { taskDetails } from './modern-tasks';
import { watchSaga } from './saga-resources';
import { SagalaneTaskStore } from './task-store';

/** Most task ids one stream is agreed to (the acknowledgement names those; the rest get nothing). */
export const MAX_TASKS_PER_STREAM = 100;

/** The `notifications/tasks` method of the extension. */
export const TASK_STATUS_NOTIFICATION = 'notifications/tasks';

/** The task ids a listen request asks for, deduplicated and capped: the ones the acknowledgement agrees to. */
export function requestedTaskIds(filter: { taskIds?: unknown } | undefined): string[] {
  const asked = Array.isArray(filter?.taskIds) ? filter.taskIds : [];
  return [...new Set(asked.filter((id): id is string => typeof id === 'string' && id.length > 0))].slice(
    0,
    MAX_TASKS_PER_STREAM,
  );
}

export type TaskFeed = (
  taskIds: string[],
  signal: AbortSignal,
  send: (detailed: Record<string, unknown>) => void,
) => Promise<void>;

/**
 * Follows `taskIds` until `signal` fires, sending each one's DetailedTask as it changes. Resolves once every saga
 * task is followed from its current history (so no later transition is missed) and the first snapshots are sent.
 */
export function taskListenFeed(backends: McpBackends): TaskFeed {
  const store = new SagalaneTaskStore(backends);
  const { detailedTask } = taskDetails(store, backends);
  return async (taskIds, signal, send) => {
    await Promise.all(taskIds.map((id) => followTask(id)));

    async function followTask(taskId: string): Promise<void> {
      let last: string | undefined;
      let finished = false;
      // One read at a time, in order: a slow read must not send an older status after a newer one.
      let reading = Promise.resolve();
      const report = () =>
        (reading = reading.then(async () => {
          if (signal.aborted || finished) return;
          const task = await store.getTask(taskId).catch(() => null);
          if (!task) return;
          const detailed = await detailedTask(task).catch(() => undefined);
          if (!detailed || signal.aborted) return;
          const key = `${String(detailed.status)}\n${String(detailed.statusMessage ?? '')}`;
          if (key !== last) {
            last = key;
            send(detailed);
          }
          finished = isTerminal(task);
        }));
      if (SagalaneTaskStore.isLaneTaskId(taskId)) {
        await report();
        void pollLaneTask(taskId, report, () => finished);
        return;
      }
      let historyLength: number;
      try {
        const sagas = await backends.sagas();
        ({ historyLength } = await sagas.client.workflow.getHandle(taskId).describe());
      } catch {
        return; // an unknown task or a backend down: nothing to report
      }
      await report();
      if (finished) return;
      void (async () => {
        const sagas = await backends.sagas();
        await watchSaga(sagas, taskId, historyLength, signal, { onTransition: () => report() });
        // The run closed: its final status (a rollback's last transition comes before the run's end).
        await report();
      })().catch(() => undefined);
    }

    async function pollLaneTask(taskId: string, report: () => Promise<void>, finished: () => boolean) {
      const task = await store.getTask(taskId).catch(() => null);
      const everyMs = Math.max(100, task?.pollInterval ?? 500);
      while (!signal.aborted && !finished()) {
        await new Promise((resolve) => setTimeout(resolve, everyMs).unref());
        await report().catch(() => undefined);
      }
    }
  };
}

function isTerminal(task: Task): boolean {
  return task.status === 'completed' || task.status === 'failed' || task.status === 'cancelled';
}

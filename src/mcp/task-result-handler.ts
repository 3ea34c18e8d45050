/**
 * `tasks/result` with progress. The SDK's own handler (shared/protocol.ts) waits by polling the task store and
 * delivers messages queued for the task, but it sends no progress notifications: it cannot, as only the request
 * knows its progress token. This one keeps its contract (task not found → -32602; wait until the task is terminal;
 * the stored result with the related-task `_meta`) and, when the caller gave a progress token, follows the saga or
 * lane task and sends one progress notification per transition while it waits. sagalane queues no task messages
 * (it never asks the client anything mid-task), so nothing the SDK handler delivered is lost.
 */
import { isTerminal } from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import {
  ErrorCode,
  GetTaskPayloadRequestSchema,
  McpError,
  RELATED_TASK_META_KEY,
} from '@modelcontextprotocol/sdk/types.js';
import { SagalaneTaskStore } from './task-store';
import type { ToolContext } from './tool-context';
import { progressTokenOf, reportSagaProgress, waitForLaneTask } from './waiting';

export function registerTaskResultHandler(ctx: ToolContext): void {
  const { server, store, backends } = ctx;
  server.server.setRequestHandler(GetTaskPayloadRequestSchema, async (request, extra) => {
    const { taskId } = request.params;
    let task;
    try {
      task = await store.getTask(taskId);
    } catch (err) {
      throw new McpError(ErrorCode.InternalError, ctx.describe(err));
    }
    if (!task) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
    try {
      if (!isTerminal(task.status) && progressTokenOf(extra) !== undefined) {
        if (SagalaneTaskStore.isLaneTaskId(taskId))
          await waitForLaneTask(await backends.express(), taskId, 2_147_000_000, extra);
        else await reportSagaProgress(await backends.sagas(), taskId, extra);
      }
      // Without a progress token the store's result waits by itself (the saga's result long-polls Temporal).
      const result = await store.getTaskResult(taskId);
      return { ...result, _meta: { ...result._meta, [RELATED_TASK_META_KEY]: { taskId } } };
    } catch (err) {
      if (err instanceof McpError) throw err;
      throw new McpError(ErrorCode.InternalError, ctx.describe(err));
    }
  });
}

/**
 * `tasks/result` with progress and a bounded wait. The SDK's own handler (shared/protocol.ts) waits by polling the
 * task store until the task is terminal, stops when the request's signal fires, and delivers messages queued for the
 * task, but it sends no progress notifications: it cannot, as only the request knows its progress token. This one
 * keeps its contract (task not found → -32602; wait until the task is terminal; the stored result with the
 * related-task `_meta`; nothing answered once the request was cancelled or its connection closed) and, when the caller
 * gave a progress token, follows the saga or lane task and sends one progress notification per transition while it
 * waits. sagalane queues no task messages (it never asks the client anything mid-task), so nothing the SDK handler
 * delivered is lost.
 *
 * The wait is bounded (`taskResultWaitMs`): a task still running then gets JSON-RPC error -32001 (request timeout)
 * saying so and to call again; the task itself runs on. The wait stops as soon as the client cancels the request,
 * its session ends or (over HTTP) its connection drops: the request's signal fires (see http-server.ts), and every
 * wait below (the saga's result long poll, the history follow, the lane wait) ends with it.
 */
import { isTerminal } from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import {
  ErrorCode,
  GetTaskPayloadRequestSchema,
  McpError,
  RELATED_TASK_META_KEY,
  type Result,
} from '@modelcontextprotocol/sdk/types.js';
import { TaskNotFoundError } from '../lane/errors';
import { laneInfoResult, sagaOutcome } from './outcomes';
import { SagalaneTaskStore } from './task-store';
import type { ToolContext } from './tool-context';
import { reportSagaProgress, waitForLaneTask, type ProgressChannel } from './waiting';

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
    const withMeta = (result: Result) => ({
      ...result,
      _meta: { ...result._meta, [RELATED_TASK_META_KEY]: { taskId } },
    });
    if (isTerminal(task.status) || store.isAnswered(taskId)) {
      try {
        return withMeta(await store.getTaskResult(taskId, undefined, extra.signal));
      } catch (err) {
        throw new McpError(ErrorCode.InternalError, ctx.describe(err));
      }
    }

    const wait = boundedWait(extra.signal, ctx.taskResultWaitMs);
    const channel: ProgressChannel = { ...extra, signal: wait.signal };
    try {
      if (SagalaneTaskStore.isLaneTaskId(taskId)) {
        const express = await backends.express();
        const info = await waitForLaneTask(express, taskId, ctx.taskResultWaitMs, channel);
        if (!info) throw new TaskNotFoundError(taskId);
        if (info.status !== 'succeeded' && info.status !== 'dead') throw wait.stopped();
        return withMeta(laneInfoResult(info));
      }
      const sagas = await backends.sagas();
      await reportSagaProgress(sagas, taskId, channel);
      if (wait.signal.aborted) throw wait.stopped();
      return withMeta(await sagaOutcome(sagas, taskId, { signal: wait.signal }));
    } catch (err) {
      if (wait.signal.aborted) throw await stoppedError(ctx, taskId, wait.timedOut);
      if (err instanceof McpError) throw err;
      throw new McpError(ErrorCode.InternalError, ctx.describe(err));
    } finally {
      wait.dispose();
    }
  });
}

interface BoundedWait {
  /** Fires when the caller's signal fires or the bound passes. */
  signal: AbortSignal;
  /** True once the bound passed (rather than the caller going away). */
  readonly timedOut: boolean;
  /** An error to leave the wait with once the signal fired. */
  stopped(): Error;
  /** Clears the timer and the listener on the caller's signal. */
  dispose(): void;
}

function boundedWait(caller: AbortSignal, waitMs: number): BoundedWait {
  const controller = new AbortController();
  let timedOut = false;
  const onCallerAbort = () => controller.abort(caller.reason);
  caller.addEventListener('abort', onCallerAbort, { once: true });
  if (caller.aborted) controller.abort(caller.reason);
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('tasks/result wait bound reached'));
  }, waitMs);
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    stopped: () => new Error('tasks/result wait stopped'),
    dispose() {
      clearTimeout(timer);
      caller.removeEventListener('abort', onCallerAbort);
    },
  };
}

/** The answer of a wait that stopped: "still running, call again" past the bound, else the SDK's "cancelled". */
async function stoppedError(ctx: ToolContext, taskId: string, timedOut: boolean): Promise<McpError> {
  // The SDK sends nothing for a request whose signal fired; this only keeps the handler's contract.
  if (!timedOut) return new McpError(ErrorCode.InvalidRequest, 'Request cancelled');
  const task = await ctx.store.getTask(taskId).catch(() => null);
  const seconds = Math.round(ctx.taskResultWaitMs / 100) / 10;
  return new McpError(
    ErrorCode.RequestTimeout,
    `Task ${taskId} is still ${task?.status ?? 'running'}` +
      `${task?.statusMessage ? ` (${task.statusMessage})` : ''} after ${seconds} s, the longest one tasks/result ` +
      'waits here. It runs on: call tasks/result again, or poll tasks/get until its status is completed, failed ' +
      'or cancelled.',
    {
      taskId,
      status: task?.status ?? 'working',
      ...(task?.pollInterval ? { pollInterval: task.pollInterval } : {}),
    },
  );
}

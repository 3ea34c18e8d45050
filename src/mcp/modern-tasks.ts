/**
 * The `io.modelcontextprotocol/tasks` extension (SEP-2663) on the 2026-07-28 server, backed by Temporal and the lane
 * like the 2025-11-25 tasks: a task's id is the saga id (or the lane task id) and its status is read from Temporal /
 * Redis on every `tasks/get` (through the same SagalaneTaskStore), so a task made through one MCP process is read,
 * answered and cancelled through any other.
 *
 * - `tools/call` of a task-capable tool (start_pipeline, submit_task) from a client that declared the extension in its
 *   request's client capabilities answers a flat CreateTaskResult (`resultType: "task"`).
 * - `tasks/get`: `working`, `input_required` (a saga waiting at an approval gate, with an elicitation asking to
 *   approve or reject), `completed` with the tool's result inlined (an `isError` result for a saga that rolled back:
 *   the tool ran and reported the failure), `cancelled`, or `failed` with a JSON-RPC error for a run that broke.
 * - `tasks/update` answers the approval (approve or reject with a reason), `tasks/cancel` cancels the saga; both are
 *   refused on a read-only server. A client that did not declare the extension gets -32021 for all three.
 */
import { z } from 'zod';
import {
  ProtocolError,
  type McpServer as ModernMcpServer,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { Task } from '@modelcontextprotocol/sdk/types.js';
import { SagaClientError } from '../client/errors';
import type { McpBackends } from './backends';
import { applyApproval, approvalAnswer, approvalInputRequests, APPROVAL_INPUT_KEY } from './approval-input';
import { SagalaneTaskStore, type TaskStoreOptions } from './task-store';
import type { StartedWork } from './tool-registry';

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
const CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
export const INVALID_PARAMS = -32602;
export const MISSING_REQUIRED_CLIENT_CAPABILITY = -32021;

/** Whether this request's client declared the tasks extension (per request: 2026-07-28 has no session). */
export function tasksExtensionRequested(ctx: ServerContext): boolean {
  return declaresTasksExtension(ctx.mcpReq.envelope);
}

/** Whether a request's `_meta` (its envelope) declares the tasks extension in its client capabilities. */
export function declaresTasksExtension(meta: unknown): boolean {
  const envelope = meta as Record<string, unknown> | undefined;
  const caps = envelope?.[CLIENT_CAPABILITIES] as { extensions?: Record<string, unknown> } | undefined;
  return caps?.extensions?.[TASKS_EXTENSION] !== undefined;
}

/** The -32021 error data naming the extension a request needs. */
export const TASKS_EXTENSION_REQUIRED = { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } };

export interface ModernTasksOptions {
  backends: McpBackends;
  readOnly: boolean;
  tasks?: TaskStoreOptions;
  describe(err: unknown): string;
}

/** The extension's Task: the 2025-11-25 task's fields with the durations renamed (`ttlMs`, `pollIntervalMs`). */
function extensionTask(
  task: Task,
  status: string = task.status,
  statusMessage = task.statusMessage,
): Record<string, unknown> {
  return {
    taskId: task.taskId,
    status,
    ...(statusMessage ? { statusMessage } : {}),
    createdAt: task.createdAt,
    lastUpdatedAt: task.lastUpdatedAt,
    ttlMs: task.ttl ?? null,
    ...(task.pollInterval !== undefined ? { pollIntervalMs: task.pollInterval } : {}),
  };
}

/** The CreateTaskResult a task-capable tool answers once its saga or lane task exists. */
export async function taskCreated(
  store: SagalaneTaskStore,
  work: StartedWork,
): Promise<Record<string, unknown>> {
  const task = await store.getTask(work.id);
  if (!task) throw new Error(`${work.kind} ${work.id} was started but cannot be found`);
  return { resultType: 'task', ...extensionTask(task) };
}

const taskIdParam = z.string().min(1).max(1000);

export function registerModernTasks(
  server: ModernMcpServer,
  store: SagalaneTaskStore,
  options: ModernTasksOptions,
): void {
  const { backends } = options;
  const { detailedTask, approvalWaiting } = taskDetails(store, backends);

  const requireExtension = (ctx: ServerContext) => {
    if (!tasksExtensionRequested(ctx))
      throw new ProtocolError(
        MISSING_REQUIRED_CLIENT_CAPABILITY,
        `Declare the ${TASKS_EXTENSION} extension in the request's client capabilities to use tasks`,
        TASKS_EXTENSION_REQUIRED,
      );
  };
  const known = async (taskId: string): Promise<Task> => {
    const task = await store.getTask(taskId);
    if (!task)
      throw new ProtocolError(
        INVALID_PARAMS,
        `No task ${taskId}: a task id is a saga id (list_sagas) or a lane task id (<type>:<uuid>)`,
      );
    return task;
  };
  const refuseReadOnly = (method: string, taskId: string) => {
    if (options.readOnly)
      throw new ProtocolError(
        INVALID_PARAMS,
        `This MCP server is read-only: ${method} cannot change task ${taskId} through it`,
      );
  };

  server.server.setRequestHandler(
    'tasks/get',
    { params: z.looseObject({ taskId: taskIdParam }) },
    async (params, ctx) => {
      requireExtension(ctx);
      const task = await known(params.taskId);
      return detailedTask(task);
    },
  );

  server.server.setRequestHandler(
    'tasks/update',
    {
      // The SDK lifts `inputResponses` out of the params into ctx.mcpReq.inputResponses (dropping entries that are
      // not bare responses, named in droppedInputResponseKeys).
      params: z.looseObject({ taskId: taskIdParam }),
    },
    async (params, ctx) => {
      requireExtension(ctx);
      refuseReadOnly('tasks/update', params.taskId);
      const task = await known(params.taskId);
      const waiting = await approvalWaiting(task);
      if (!waiting)
        throw new ProtocolError(
          INVALID_PARAMS,
          `Task ${params.taskId} is not waiting for input (status ${task.status}${
            task.statusMessage ? `: ${task.statusMessage}` : ''
          }); nothing was changed`,
        );
      const responses = ctx.mcpReq.inputResponses ?? {};
      const dropped = ctx.mcpReq.droppedInputResponseKeys ?? [];
      const response = responses[APPROVAL_INPUT_KEY];
      if (response === undefined && !dropped.includes(APPROVAL_INPUT_KEY)) {
        if (Object.keys(responses).length || dropped.length)
          throw new ProtocolError(
            INVALID_PARAMS,
            `Task ${params.taskId} waits for inputResponses.${APPROVAL_INPUT_KEY} only; nothing was changed`,
          );
        return {}; // nothing answered: the task still waits
      }
      const answer = approvalAnswer(response);
      if (typeof answer === 'string')
        throw new ProtocolError(INVALID_PARAMS, `${answer}; task ${params.taskId} was not changed`);
      const sagas = await backends.sagas();
      try {
        await applyApproval(sagas, params.taskId, answer);
      } catch (err) {
        // A second answer, or one to a saga that moved on: the saga's validator refused it.
        if (err instanceof SagaClientError) throw new ProtocolError(INVALID_PARAMS, err.message);
        throw err;
      }
      return {};
    },
  );

  server.server.setRequestHandler(
    'tasks/cancel',
    { params: z.looseObject({ taskId: taskIdParam }) },
    async (params, ctx) => {
      requireExtension(ctx);
      refuseReadOnly('tasks/cancel', params.taskId);
      const task = await known(params.taskId);
      if (['completed', 'failed', 'cancelled'].includes(task.status)) return {};
      try {
        await store.updateTaskStatus(params.taskId, 'cancelled', 'Client cancelled task execution.');
      } catch (err) {
        throw new ProtocolError(INVALID_PARAMS, options.describe(err));
      }
      return {};
    },
  );
}

/**
 * The extension's DetailedTask of a task, as `tasks/get` answers it and `notifications/tasks` carries it
 * (task-listen.ts): `input_required` with the approval's input request for a saga at an approval gate, the result
 * inlined once finished.
 */
export function taskDetails(store: SagalaneTaskStore, backends: McpBackends) {
  /** A saga at an approval gate: its state, for the input request; undefined for anything else. */
  async function approvalWaiting(task: Task) {
    if (task.status !== 'working' || SagalaneTaskStore.isLaneTaskId(task.taskId)) return undefined;
    const state = await (await backends.sagas()).getState(task.taskId);
    return state.state === 'awaiting_approval' ? state : undefined;
  }

  async function detailedTask(task: Task): Promise<Record<string, unknown>> {
    if (task.status === 'working') {
      const waiting = await approvalWaiting(task);
      if (waiting)
        return {
          ...extensionTask(
            task,
            'input_required',
            `awaiting_approval (${waiting.currentStep ?? 'approval'}): answer inputRequests.${APPROVAL_INPUT_KEY} ` +
              'with tasks/update (or approve_saga / reject_saga)',
          ),
          inputRequests: approvalInputRequests(waiting),
        };
      return extensionTask(task);
    }
    if (task.status === 'cancelled') return extensionTask(task);
    const result = await store.getTaskResult(task.taskId);
    // The tool ran: a saga that rolled back (or a dead lane task) is a completed task with an isError result.
    const message =
      task.status === 'completed'
        ? 'completed: the result is in result'
        : `${task.statusMessage} (see result)`;
    return { ...extensionTask(task, 'completed', message), result };
  }
  return { approvalWaiting, detailedTask };
}

/**
 * The MCP task store (`TaskStore` of @modelcontextprotocol/sdk's experimental tasks), backed by Temporal and the
 * express lane rather than memory: a saga task's id is the saga id, a lane task's id is the lane task id, and its
 * status is read from Temporal / Redis on every `tasks/get`. Nothing lives in this process, so a task created through
 * one MCP server process is polled, fetched and cancelled through any other, and survives the restart of the one that
 * created it. Tasks are not bound to an MCP session for the same reason: whoever can reach the endpoint (bearer token
 * when exposed) can see a task, as they can see the saga with `get_saga`.
 *
 * Two kinds of entries do live here, briefly: the result of a plain (not task-augmented) call, which SDK v1 also
 * routes through the store (it creates a task and polls it), and a task-augmented call that failed before anything
 * was started (bad arguments, backend down). Neither names anything durable.
 */
import { randomUUID } from 'node:crypto';
import type {
  TaskStore,
  CreateTaskOptions,
} from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import {
  isTaskAugmentedRequestParams,
  type CallToolResult,
  type Request,
  type RequestId,
  type Result,
  type Task,
} from '@modelcontextprotocol/sdk/types.js';
import { SagaNotFoundError } from '../client/errors';
import type { SagaStateView } from '../workflows/saga-contract';
import { LaneError } from '../lane/errors';
import type { McpBackends } from './backends';
import { sagaOutcome, laneOutcome } from './outcomes';
import { errorResult } from './tool-results';
import { laneTaskStatusOf, taskStatusOf, workingMessage } from './progress';

/** What a tool hands `createTask` in `context`. */
export type TaskContext =
  | { kind: 'saga'; id: string }
  | { kind: 'lane'; id: string }
  /** A call whose answer is already known (a plain call, or a start that failed). */
  | { kind: 'answered'; result: CallToolResult };

export interface TaskStoreOptions {
  /** `pollInterval` suggested for saga tasks. @defaultValue 500 */
  sagaPollIntervalMs?: number;
  /** `pollInterval` suggested for lane tasks. @defaultValue 200 */
  lanePollIntervalMs?: number;
  /** How long a lane task's record is kept (the ExpressClient's `retentionMs`), reported as its ttl. @defaultValue 86400000 */
  laneRetentionMs?: number;
  /** How long an answered call's result is kept here. @defaultValue 300000 (5 min) */
  answeredTtlMs?: number;
  /** Refuse every cancel (a read-only MCP server). @defaultValue false */
  readOnly?: boolean;
}

/** tasks/list page size (sagas, newest first). */
const LIST_PAGE_SIZE = 20;
const LANE_TASK_ID =
  /^[A-Za-z0-9][A-Za-z0-9_.-]*:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ANSWERED_PREFIX = 'mcp-call-';
/** Longest `getTaskResult` waits for a lane task that has not finished. */
const LANE_RESULT_WAIT_MS = 60_000;

export class LaneTaskNotCancellableError extends LaneError {
  constructor(readonly taskId: string) {
    super(
      `Task ${taskId} is an express-lane task, and lane tasks cannot be cancelled: it runs to its end (or to ` +
        'dead after its retries). Wait for it with tasks/result or get_task.',
    );
  }
}

/** A cancel through a read-only MCP server: read-only clients change nothing. */
export class ReadOnlyTaskStoreError extends Error {
  override readonly name = 'ReadOnlyTaskStoreError';
  constructor(taskId: string) {
    super(`This MCP server is read-only: task ${taskId} cannot be cancelled through it`);
  }
}

export class TaskStoreError extends Error {
  override readonly name = 'TaskStoreError';
}

/**
 * Sagas cancelled through this process whose state may not show it yet (the cancel reaches the running step first):
 * tasks/cancel must answer with status cancelled, and every session of this process then agrees.
 */
const cancelling = new Set<string>();

interface Answered {
  task: Task;
  result: CallToolResult;
  timer: NodeJS.Timeout;
}

export class SagalaneTaskStore implements TaskStore {
  private readonly sagaPollIntervalMs: number;
  private readonly lanePollIntervalMs: number;
  private readonly laneRetentionMs: number;
  private readonly answeredTtlMs: number;
  private readonly answered = new Map<string, Answered>();
  private retentionMs?: Promise<number | null>;
  private readonly readOnly: boolean;

  constructor(
    private readonly backends: McpBackends,
    options: TaskStoreOptions = {},
  ) {
    this.sagaPollIntervalMs = options.sagaPollIntervalMs ?? 500;
    this.lanePollIntervalMs = options.lanePollIntervalMs ?? 200;
    this.laneRetentionMs = options.laneRetentionMs ?? 86_400_000;
    this.answeredTtlMs = options.answeredTtlMs ?? 300_000;
    this.readOnly = options.readOnly ?? false;
  }

  /** True when the id names a lane task (`<type>:<uuid>`), not a saga. */
  static isLaneTaskId(taskId: string): boolean {
    return LANE_TASK_ID.test(taskId);
  }

  /** True when `request` asked for a task (`params.task`), false for a plain call. */
  static isTaskAugmented(request: Pick<Request, 'params'>): boolean {
    return isTaskAugmentedRequestParams(request.params) && request.params.task !== undefined;
  }

  async createTask(
    params: CreateTaskOptions,
    _requestId: RequestId,
    request: Request,
    _sessionId?: string,
  ): Promise<Task> {
    const context = params.context as TaskContext | undefined;
    if (!context) throw new TaskStoreError('createTask needs a context (saga, lane or answered)');
    if (context.kind === 'answered') return this.answer(context.result);
    // A plain call: the tool answers it itself (see `settle`); the saga or lane task is not the MCP task.
    if (!SagalaneTaskStore.isTaskAugmented(request)) return this.answer(undefined);
    const task = context.kind === 'saga' ? await this.sagaTask(context.id) : await this.laneTask(context.id);
    if (!task) throw new TaskStoreError(`${context.kind} ${context.id} was started but cannot be found`);
    return task;
  }

  async getTask(taskId: string, _sessionId?: string): Promise<Task | null> {
    const answered = this.answered.get(taskId);
    if (answered) return { ...answered.task };
    if (taskId.startsWith(ANSWERED_PREFIX)) return null;
    return SagalaneTaskStore.isLaneTaskId(taskId) ? this.laneTask(taskId) : this.sagaTask(taskId);
  }

  async storeTaskResult(taskId: string, status: 'completed' | 'failed', result: Result): Promise<void> {
    const answered = this.answered.get(taskId);
    if (!answered)
      throw new TaskStoreError(
        `Task ${taskId} keeps its result in Temporal or Redis; nothing is stored here`,
      );
    answered.task = { ...answered.task, status, lastUpdatedAt: new Date().toISOString() };
    answered.result = result as CallToolResult;
  }

  /**
   * The task's result. Meant for a finished task (tasks/result waits for it first, see task-result-handler.ts); for
   * one still running, a lane task is waited for up to a minute (then its info with a note to ask again), a saga
   * until it ends or `signal` fires.
   */
  async getTaskResult(taskId: string, _sessionId?: string, signal?: AbortSignal): Promise<Result> {
    const answered = this.answered.get(taskId);
    if (answered) return answered.result;
    if (SagalaneTaskStore.isLaneTaskId(taskId))
      return laneOutcome(await this.backends.express(), taskId, LANE_RESULT_WAIT_MS);
    return sagaOutcome(await this.backends.sagas(), taskId, { signal });
  }

  /** True when the task is a call answered in this process (not a saga or a lane task). */
  isAnswered(taskId: string): boolean {
    return this.answered.has(taskId);
  }

  async updateTaskStatus(taskId: string, status: Task['status'], statusMessage?: string): Promise<void> {
    const answered = this.answered.get(taskId);
    if (answered) {
      answered.task = { ...answered.task, status, statusMessage, lastUpdatedAt: new Date().toISOString() };
      return;
    }
    if (this.readOnly) throw new ReadOnlyTaskStoreError(taskId);
    if (status !== 'cancelled')
      throw new TaskStoreError(
        `The status of task ${taskId} follows its saga or lane task; it cannot be set`,
      );
    if (SagalaneTaskStore.isLaneTaskId(taskId)) throw new LaneTaskNotCancellableError(taskId);
    const sagas = await this.backends.sagas();
    await sagas.cancel(taskId, statusMessage ? `MCP tasks/cancel: ${statusMessage}` : 'MCP tasks/cancel');
    // Until the running step has stopped the state does not show the cancel yet; this process knows already.
    cancelling.add(taskId);
    setTimeout(() => cancelling.delete(taskId), 60_000).unref();
  }

  async listTasks(cursor?: string, _sessionId?: string): Promise<{ tasks: Task[]; nextCursor?: string }> {
    const sagas = await this.backends.sagas();
    const [page, ttl] = await Promise.all([
      sagas.list({ pageSize: LIST_PAGE_SIZE, nextPageToken: cursor }),
      this.sagaTtl(),
    ]);
    const tasks = await Promise.all(
      page.items.map(async (s): Promise<Task> => {
        const state = s.state ?? (s.status === 'RUNNING' ? 'pending' : s.status.toLowerCase());
        const running = s.status === 'RUNNING';
        // Visibility knows the state but not why a saga rolled back: ask the saga when it matters.
        const view = needsView(state, running)
          ? await sagas.getState(s.sagaId).catch(() => undefined)
          : undefined;
        return this.sagaTaskOf({
          sagaId: s.sagaId,
          state,
          step: s.step,
          running,
          view,
          workflowType: s.workflowType,
          createdAt: s.startTime,
          lastUpdatedAt: s.closeTime ?? s.startTime,
          ttl,
        });
      }),
    );
    return { tasks, ...(page.nextPageToken ? { nextCursor: page.nextPageToken } : {}) };
  }

  /**
   * Records the answer of a plain call whose task `createTask` handed out, and returns the finished task: the SDK,
   * which polls that task, then fetches this result at once.
   */
  settle(taskId: string, result: CallToolResult): Task {
    const answered = this.answered.get(taskId);
    if (!answered) throw new TaskStoreError(`No call ${taskId} is waiting for its answer`);
    answered.result = result;
    answered.task = {
      ...answered.task,
      status: result.isError ? 'failed' : 'completed',
      ...(result.isError ? { statusMessage: textOf(result) } : {}),
      lastUpdatedAt: new Date().toISOString(),
    };
    return { ...answered.task };
  }

  /** Drops the answered calls kept here (their timers would keep a test's process alive). */
  cleanup(): void {
    for (const a of this.answered.values()) clearTimeout(a.timer);
    this.answered.clear();
  }

  /** An entry for a call answered here: finished when `result` is given, else working until `settle`. */
  private answer(result: CallToolResult | undefined): Task {
    const now = new Date().toISOString();
    const taskId = `${ANSWERED_PREFIX}${randomUUID()}`;
    const task: Task = {
      taskId,
      status: !result ? 'working' : result.isError ? 'failed' : 'completed',
      ...(result?.isError ? { statusMessage: textOf(result) } : {}),
      ttl: this.answeredTtlMs,
      createdAt: now,
      lastUpdatedAt: now,
      pollInterval: this.sagaPollIntervalMs,
    };
    const timer = setTimeout(() => this.answered.delete(taskId), this.answeredTtlMs).unref();
    this.answered.set(taskId, {
      task,
      result: result ?? errorResult('The call has not been answered yet'),
      timer,
    });
    return { ...task };
  }

  private async sagaTask(sagaId: string): Promise<Task | null> {
    const sagas = await this.backends.sagas();
    let description;
    try {
      description = await sagas.client.workflow.getHandle(sagaId).describe();
    } catch (err) {
      if ((err as { name?: string }).name === 'WorkflowNotFoundError') return null;
      throw err;
    }
    const attrs = description.searchAttributes ?? {};
    const running = description.status.name === 'RUNNING';
    const state =
      firstString(attrs.SagaState) ??
      (running ? 'pending' : description.status.name === 'COMPLETED' ? 'completed' : 'failed');
    let view: SagaStateView | undefined;
    if (needsView(state, running)) {
      try {
        view = await sagas.getState(sagaId);
      } catch (err) {
        if (err instanceof SagaNotFoundError) return null;
        throw err;
      }
    }
    return this.sagaTaskOf({
      sagaId,
      state: view?.state ?? state,
      step: view?.currentStep ?? firstString(attrs.SagaStep),
      running,
      view,
      workflowType: description.type,
      createdAt: description.startTime.toISOString(),
      lastUpdatedAt: (description.closeTime ?? description.startTime).toISOString(),
      ttl: await this.sagaTtl(),
    });
  }

  private sagaTaskOf(s: {
    sagaId: string;
    state: string;
    step?: string;
    running: boolean;
    view?: SagaStateView;
    workflowType: string;
    createdAt: string;
    lastUpdatedAt: string;
    ttl: number | null;
  }): Task {
    const status = taskStatusOf({
      state: s.state,
      running: s.running,
      error: s.view?.error,
      cancelRequested: cancelling.has(s.sagaId),
    });
    let statusMessage: string;
    if (status === 'working')
      statusMessage = workingMessage({ state: s.state, step: s.step }, s.workflowType);
    else if (status === 'completed') statusMessage = "completed: call tasks/result for the saga's result";
    else if (status === 'cancelled')
      statusMessage =
        `cancelled${s.view?.error?.cancelReason ? ` (${s.view.error.cancelReason})` : ''}; the rollback ` +
        `${s.running ? 'is running' : 'finished'} in Temporal (state ${s.state}, see get_saga)`;
    else statusMessage = `${s.state}: ${s.view?.error?.message ?? 'the saga ended without a result'}`;
    return {
      taskId: s.sagaId,
      status,
      statusMessage,
      createdAt: s.createdAt,
      lastUpdatedAt: s.lastUpdatedAt,
      ttl: s.ttl,
      pollInterval: this.sagaPollIntervalMs,
    };
  }

  private async laneTask(taskId: string): Promise<Task | null> {
    const express = await this.backends.express();
    const info = await express.get(taskId);
    if (!info) return null;
    const status = laneTaskStatusOf(info.status);
    const statusMessage =
      status === 'failed'
        ? `dead after ${info.attempts} attempts: ${info.error ?? 'no error recorded'}`
        : info.error && info.status === 'queued'
          ? `queued for retry ${info.attempts + 1} of ${info.maxAttempts} (last error: ${info.error})`
          : info.status;
    const iso = (ms: number | undefined) => new Date(ms ?? info.submittedAt).toISOString();
    return {
      taskId,
      status,
      statusMessage,
      createdAt: iso(info.submittedAt),
      lastUpdatedAt: iso(info.finishedAt ?? info.startedAt),
      ttl: this.laneRetentionMs,
      pollInterval: this.lanePollIntervalMs,
    };
  }

  /** The namespace's retention: how long Temporal keeps a closed saga, hence its task. */
  private sagaTtl(): Promise<number | null> {
    this.retentionMs ??= (async () => {
      const sagas = await this.backends.sagas();
      const ns = await sagas.client.workflowService.describeNamespace({ namespace: sagas.namespace });
      const ttl = ns.config?.workflowExecutionRetentionTtl;
      return ttl ? Number(ttl.seconds ?? 0) * 1000 + Math.round((ttl.nanos ?? 0) / 1e6) : null;
    })().catch((err: unknown) => {
      this.retentionMs = undefined;
      throw err;
    });
    return this.retentionMs;
  }
}

/** Visibility does not say why a saga is rolling back or rolled back; its state does. */
function needsView(state: string, running: boolean): boolean {
  return (
    state === 'compensating' ||
    state === 'rolled_back' ||
    state === 'failed' ||
    (!running && state !== 'completed')
  );
}

function firstString(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'string' ? v : undefined;
}

function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

/**
 * The typed front door to sagas: start a research pipeline, read a saga's state, list, cancel, page through its
 * history and wait for its result. The MCP bridge, the CLI and embedding services all go through this class.
 *
 * ```ts
 * const sagas = await SagaClient.connect(loadConfig());
 * const { sagaId } = await sagas.startPipeline({ idea: 'trend following', symbol: 'DEMO' });
 * console.log(await sagas.getState(sagaId));
 * await sagas.close();
 * ```
 */
import {
  Client,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import { InternalConnectionLikeSymbol } from '@temporalio/client/lib/types';
import type { Config } from '../config';
import {
  RESEARCH_PIPELINE_WORKFLOW,
  TERMINAL_SAGA_STATES,
  approveInputSchema,
  rejectInputSchema,
  type PipelineResult,
  type PipelineTuning,
  type SagaStateName,
} from '../workflows/research/pipeline-contract';
import {
  SAGA_NOT_AWAITING_APPROVAL_FAILURE,
  approveUpdate,
  cancelUpdate,
  rejectUpdate,
  stateQuery,
  type SagaStateView,
} from '../workflows/saga-contract';
import {
  SagaAlreadyFinishedError,
  SagaClientOptionsError,
  SagaFailedError,
  SagaNotAwaitingApprovalError,
  SagaNotFoundError,
  TemporalUnavailableError,
} from './errors';
import { summarizeHistoryEvent, type HistoryEventSummary } from './history-events';
import { decodeHistoryToken, decodeToken, encodeHistoryToken, encodeToken } from './page-tokens';
import { checkStateFilter, checkVisibilityQuery, quote } from './visibility-query';
import { connectTemporal } from '../runtime/temporal-connection';
import { tracedTemporalClient } from '../runtime/temporal-tracing';
import { startTracing } from '../observability/tracing';
import { sagaCatalog, type SagaCatalog } from '../catalog/catalog';
import { loadSagaModule } from '../catalog/saga-module';
import type { SagaDefinition } from '../catalog/define-saga';
import { BUILTIN_SAGA_CATALOG, researchPipelineSaga } from '../workflows/research/research-pipeline-saga';
import {
  parsePipelineInput,
  startCheckedSaga,
  type StartedSaga,
  type StartSagaOptions,
  type StartTarget,
} from './saga-starts';

export interface SagaClientOptions {
  /** Task queue new sagas are started on. @defaultValue 'sagalane-sagas' */
  taskQueue?: string;
  /** Close the client's connection in `close()`. @defaultValue false (the caller owns the connection) */
  ownsConnection?: boolean;
  /**
   * How long `getState` waits for a worker to answer the `state` query before it falls back to the execution's
   * description (a query waits for a worker, so with none running it would hang). @defaultValue 5000
   */
  queryTimeoutMs?: number;
  /**
   * Eager workflow start (`requestEagerStart`): the server hands the saga's first workflow task to a saga worker of
   * this process in the start reply, skipping one matching dispatch (and the worker's poll for it). Works only when
   * `client` runs on the `NativeConnection` of a saga worker in this process that polls `taskQueue`, and the server
   * allows it (`system.enableEagerWorkflowStart`, on in the dev servers sagalane starts); the SDK falls back to a
   * normal start when that worker has no free workflow-task slot. `startPipeline` reports whether it happened.
   * @defaultValue true when `client`'s connection can do it (a NativeConnection), else false
   */
  eagerStart?: boolean;
  /**
   * Temporal `priorityKey` (1 first .. 5 last, with the server's default 5 levels) a saga runs at, by its `priority`:
   * its workflow tasks and every activity it schedules (they inherit it) queue at this key in Temporal, so a flood of
   * bulk sagas cannot hold an urgent saga's workflow tasks back while its steps go on the express lane. `undefined`
   * for a lane sends no key: the server's default (3 of 5). Honoured by servers with the priority matcher
   * (`matching.useNewMatcher`, on in the dev servers sagalane starts); others ignore the key.
   * @defaultValue { express: 1, standard: undefined }
   */
  priorityKeys?: { express?: number; standard?: number };
  /** The sagas `start` knows (types, input schemas). @defaultValue the built-in catalog (the research pipeline) */
  catalog?: SagaCatalog;
}

export interface StartPipelineOptions {
  /** Workflow id. Starting again with the id of a running saga returns that saga. @defaultValue `pipeline-<symbol>-<uuid>` */
  workflowId?: string;
  /** Operational knobs (heartbeat / retry timings); production uses the workflow's defaults. */
  tuning?: PipelineTuning;
  /** More memo fields (e.g. the caller's W3C `traceparent`, kept by the MCP bridge). */
  memo?: Record<string, unknown>;
  parentContext?: StartSagaOptions['parentContext']; // the trace the saga joins: as for `start`
}

export { parsePipelineInput, type StartedSaga, type StartSagaOptions } from './saga-starts';

/** A saga in a list: what visibility knows without asking the workflow. */
export interface SagaSummary {
  sagaId: string;
  runId: string;
  workflowType: string;
  /** Temporal execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, … */
  status: string;
  /** The `SagaState` search attribute (absent before the saga's first transition). */
  state?: string;
  /** The `SagaStep` search attribute. */
  step?: string;
  startTime: string;
  closeTime?: string;
  idea?: string;
  symbol?: string;
}

export interface ListSagasOptions {
  /**
   * Only sagas in this state (`SagaState` search attribute): a lifecycle state (`pending`, `awaiting_approval`,
   * `completed`, `compensating`, `rolled_back`, `failed`) or the name of a step or parallel group.
   */
  state?: SagaStateName | (string & {});
  /**
   * Extra visibility query ANDed with the filters, e.g. `StartTime > "2026-01-01T00:00:00Z"`. One that would not stay
   * inside its parentheses (see `visibilityQueryProblem`) is refused with InvalidSagaQueryError.
   */
  query?: string;
  /** Saga type (workflow type) to list. @defaultValue 'researchPipeline' */
  type?: string;
  /** The same as `type` (its earlier name). */
  workflowType?: string;
  /** Several saga types at once (e.g. every catalog type: `client.catalog.types`); not with `type`. */
  types?: readonly string[];
  /** @defaultValue 20 (max 1000) */
  pageSize?: number;
  /** The `nextPageToken` of the previous page. */
  nextPageToken?: string;
}

export interface SagaPage<T> {
  items: T[];
  /** Absent on the last page. */
  nextPageToken?: string;
}

export interface HistoryOptions {
  runId?: string;
  /** Events per page. @defaultValue 50 (max 1000) */
  pageSize?: number;
  nextPageToken?: string;
  /** Decode inputs, results and details into each event summary. @defaultValue false */
  includePayloads?: boolean;
  /** Longest decoded payload, in characters of JSON; longer ones are cut with a marker. @defaultValue 2000 */
  maxPayloadChars?: number;
}

export interface CancelOutcome {
  accepted: boolean;
  /** The saga's state when the cancel was accepted (the rollback follows): a lifecycle state or a step's name. */
  state: SagaStateName | (string & {});
}

export interface SagaResultOptions {
  runId?: string;
  /** Stops the wait (the call then rejects); without it `result` waits as long as the saga runs. */
  signal?: AbortSignal;
}

const MAX_PAGE_SIZE = 1000;
/** Lowest priority a server with the default `matching.priorityLevels` (5) knows. */
const MAX_PRIORITY_KEY = 5;

/**
 * Whether the client's connection can start workflows eagerly: the SDK marks a NativeConnection so (and refuses
 * `requestEagerStart` on any other connection, node_modules/@temporalio/client/lib/workflow-client.js).
 */
function supportsEagerStart(client: Client): boolean {
  const marker = (
    client.connection as unknown as Record<symbol, { supportsEagerStart?: boolean } | undefined>
  )[InternalConnectionLikeSymbol];
  return marker?.supportsEagerStart === true;
}

export class SagaClient {
  readonly taskQueue: string;
  private readonly ownsConnection: boolean;
  private readonly queryTimeoutMs: number;
  private readonly eagerStart: boolean;
  private readonly priorityKeys: { express?: number; standard?: number };
  /** The sagas this client starts by type. */
  readonly catalog: SagaCatalog;

  constructor(
    readonly client: Client,
    options: SagaClientOptions = {},
  ) {
    this.taskQueue = options.taskQueue ?? 'sagalane-sagas';
    if (!this.taskQueue.trim()) throw new SagaClientOptionsError('taskQueue must not be empty');
    this.ownsConnection = options.ownsConnection ?? false;
    this.queryTimeoutMs = options.queryTimeoutMs ?? 5000;
    if (!Number.isInteger(this.queryTimeoutMs) || this.queryTimeoutMs < 100)
      throw new SagaClientOptionsError('queryTimeoutMs must be an integer >= 100');
    const canStartEagerly = supportsEagerStart(client);
    if (options.eagerStart && !canStartEagerly) {
      throw new SagaClientOptionsError(
        "eagerStart needs a client on a saga worker's NativeConnection (new Client({ connection: nativeConnection }))",
      );
    }
    this.eagerStart = options.eagerStart ?? canStartEagerly;
    this.catalog = options.catalog ?? BUILTIN_SAGA_CATALOG;
    this.priorityKeys = { express: 1, ...options.priorityKeys };
    for (const [lane, key] of Object.entries(this.priorityKeys))
      if (key !== undefined && (!Number.isInteger(key) || key < 1 || key > MAX_PRIORITY_KEY))
        throw new SagaClientOptionsError(
          `priorityKeys.${lane} must be an integer in 1..${MAX_PRIORITY_KEY} (got ${key})`,
        );
  }

  /**
   * Connects to the Temporal server in `config` (local dev server, cluster with mTLS, or Temporal Cloud with an API
   * key). The returned client owns its connection: call `close()`.
   */
  static async connect(
    config: Config,
    options: { address?: string } & Pick<SagaClientOptions, 'queryTimeoutMs' | 'catalog'> = {},
  ): Promise<SagaClient> {
    const address = options.address ?? config.temporal.address;
    let connection;
    try {
      connection = await connectTemporal(config.temporal, address);
    } catch (err) {
      throw new TemporalUnavailableError(address ?? '(no address)', (err as Error).message, { cause: err });
    }
    startTracing({ serviceName: 'sagalane-client' }); // when the OTEL_* variables ask for it
    const client = tracedTemporalClient({ connection, namespace: config.temporal.namespace });
    return new SagaClient(client, {
      taskQueue: config.temporal.taskQueue,
      ownsConnection: true,
      queryTimeoutMs: options.queryTimeoutMs,
      priorityKeys: config.priorityKeys,
      // SAGALANE_SAGAS's catalog unless one is given, as every front door does.
      catalog: options.catalog ?? loadSagaModule(config.sagasModule).catalog,
    });
  }

  get namespace(): string {
    return this.client.options.namespace;
  }

  /**
   * Starts a saga of the catalog by type (or by its definition, which types the input). The input is checked against
   * the type's schema first: InvalidSagaInputError names each field and rule, UnknownSagaTypeError the known types.
   * A running saga with the same workflow id is returned as is.
   */
  async start<I>(saga: SagaDefinition<I>, input: I, options?: StartSagaOptions): Promise<StartedSaga>;
  async start(type: string, input: unknown, options?: StartSagaOptions): Promise<StartedSaga>;
  async start(
    saga: string | SagaDefinition<unknown>,
    input: unknown,
    options: StartSagaOptions = {},
  ): Promise<StartedSaga> {
    const definition = typeof saga === 'string' ? this.catalog.get(saga) : saga;
    const checked = this.catalog.has(definition.type)
      ? this.catalog.parseInput(definition.type, input)
      : sagaCatalog([definition]).parseInput(definition.type, input);
    return startCheckedSaga(this.startTarget(), definition, checked, options);
  }

  /** `start('researchPipeline', …)` with the pipeline's own input error; a running saga with the same id is returned. */
  async startPipeline(input: unknown, options: StartPipelineOptions = {}): Promise<StartedSaga> {
    const parsed = parsePipelineInput(input);
    return startCheckedSaga(this.startTarget(), researchPipelineSaga, parsed, {
      ...(options.workflowId !== undefined ? { workflowId: options.workflowId } : {}),
      ...(options.tuning ? { extraArgs: [options.tuning] } : {}),
      ...(options.memo ? { memo: options.memo } : {}),
      ...(options.parentContext ? { parentContext: options.parentContext } : {}),
    });
  }

  private startTarget(): StartTarget {
    return {
      client: this.client,
      taskQueue: this.taskQueue,
      eagerStart: this.eagerStart,
      priorityKey: (priority) => this.priorityKeys[priority],
    };
  }

  /**
   * The saga's `state` query. A closed saga still answers it while a worker for its task queue runs; when no worker
   * answers within `queryTimeoutMs`, the state is rebuilt from the execution's search attributes and status (steps
   * and compensations then empty).
   */
  async getState<TResult = PipelineResult, TState extends string = SagaStateName>(
    sagaId: string,
    options: { runId?: string } = {},
  ): Promise<SagaStateView<TResult, TState>> {
    const handle = this.client.workflow.getHandle(sagaId, options.runId);
    try {
      return (await this.client.withDeadline(Date.now() + this.queryTimeoutMs, () =>
        handle.query(stateQuery),
      )) as unknown as SagaStateView<TResult, TState>;
    } catch (err) {
      if (isNotFound(err)) throw new SagaNotFoundError(sagaId, options.runId);
      const described = await this.describeAsState(handle, sagaId, options.runId);
      if (described) return described as unknown as SagaStateView<TResult, TState>;
      throw err;
    }
  }

  /** Sagas, newest first, filtered by state and/or a visibility query; paginated. */
  async list(options: ListSagasOptions = {}): Promise<SagaPage<SagaSummary>> {
    const pageSize = options.pageSize ?? 20;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE)
      throw new SagaClientOptionsError(`pageSize must be an integer in 1..${MAX_PAGE_SIZE}`);
    if (
      options.type !== undefined &&
      options.workflowType !== undefined &&
      options.type !== options.workflowType
    )
      throw new SagaClientOptionsError('type and workflowType name the same thing: pass one');
    const types = options.types ?? [options.type ?? options.workflowType ?? RESEARCH_PIPELINE_WORKFLOW];
    if (types.length === 0 || (options.types && (options.type ?? options.workflowType) !== undefined))
      throw new SagaClientOptionsError('name the saga types with one of type and types (at least one)');
    if (options.state !== undefined) for (const t of types) checkStateFilter(t, options.state);
    const query = options.query?.trim();
    if (query) checkVisibilityQuery(query);
    const clauses = [
      types.length === 1
        ? `WorkflowType=${quote(types[0]!)}`
        : `WorkflowType IN (${types.map(quote).join(', ')})`,
    ];
    if (options.state) clauses.push(`SagaState=${quote(options.state)}`);
    if (query) clauses.push(`(${query})`);
    const response = await this.client.workflowService.listWorkflowExecutions({
      namespace: this.namespace,
      query: clauses.join(' AND '),
      pageSize,
      nextPageToken: decodeToken(options.nextPageToken),
    });
    const items = await Promise.all(
      response.executions.map(async (raw) => {
        const info = await executionInfoFromRaw(
          raw,
          this.client.options.loadedDataConverter,
          raw,
          this.namespace,
        );
        const memo = info.memo ?? {};
        return dropUndefined({
          sagaId: info.workflowId,
          runId: info.runId,
          workflowType: info.type,
          status: info.status.name,
          state: firstString(info.searchAttributes?.SagaState),
          step: firstString(info.searchAttributes?.SagaStep),
          startTime: info.startTime.toISOString(),
          closeTime: info.closeTime?.toISOString(),
          idea: typeof memo.idea === 'string' ? memo.idea : undefined,
          symbol: typeof memo.symbol === 'string' ? memo.symbol : undefined,
        }) as SagaSummary;
      }),
    );
    return dropUndefined({
      items,
      nextPageToken: encodeToken(response.nextPageToken),
    }) as SagaPage<SagaSummary>;
  }

  /** Asks the saga to stop and roll back. Resolves once the cancel is accepted; the rollback runs on. */
  async cancel(sagaId: string, reason = 'cancelled by user'): Promise<CancelOutcome> {
    const handle = this.client.workflow.getHandle(sagaId);
    try {
      return await handle.executeUpdate(cancelUpdate, { args: [reason] });
    } catch (err) {
      if (isNotFound(err)) {
        // A closed workflow answers an update with "not found" too: tell the two apart.
        const described = await this.describeAsState(handle, sagaId).catch(() => undefined);
        if (described) throw new SagaAlreadyFinishedError(sagaId, described.state);
        throw new SagaNotFoundError(sagaId);
      }
      if (err instanceof WorkflowUpdateFailedError) {
        const state = await this.getState(sagaId).catch(() => undefined);
        if (state && TERMINAL_SAGA_STATES.includes(state.state as SagaStateName))
          throw new SagaAlreadyFinishedError(sagaId, state.state);
      }
      throw err;
    }
  }

  /**
   * Approves the saga's pending approval (`saga.approval`, the pipeline's `approval: 'before_backtest'`). Resolves
   * with the saga's state once it moved on; SagaNotAwaitingApprovalError when it is not in `awaiting_approval`
   * (or the approval was already answered).
   */
  async approve(sagaId: string, opts: { approver?: string; comment?: string } = {}): Promise<SagaStateView> {
    const input = parseAnswer(approveInputSchema, opts);
    return this.answerApproval(sagaId, () =>
      this.client.workflow.getHandle(sagaId).executeUpdate(approveUpdate, { args: [input] }),
    );
  }

  /**
   * Rejects the saga's pending approval: the saga rolls back (state `compensating`, then `rolled_back`), its error
   * says `reason: "rejected"` with `cancelReason` = `reason`. Resolves with the state once the rollback began.
   */
  async reject(sagaId: string, opts: { reason?: string; approver?: string } = {}): Promise<SagaStateView> {
    const input = parseAnswer(rejectInputSchema, opts);
    return this.answerApproval(sagaId, () =>
      this.client.workflow.getHandle(sagaId).executeUpdate(rejectUpdate, { args: [input] }),
    );
  }

  private async answerApproval(sagaId: string, send: () => Promise<SagaStateView>): Promise<SagaStateView> {
    try {
      return await send();
    } catch (err) {
      if (isNotFound(err)) {
        // A closed saga answers an update with "not found" too.
        const described = await this.describeAsState(this.client.workflow.getHandle(sagaId));
        throw new SagaNotAwaitingApprovalError(sagaId, described?.state ?? 'unknown', 'the saga is over');
      }
      const cause = (err as { cause?: { type?: string; message?: string } }).cause;
      if (err instanceof WorkflowUpdateFailedError && cause?.type === SAGA_NOT_AWAITING_APPROVAL_FAILURE) {
        const state = await this.getState(sagaId).catch(() => undefined);
        throw new SagaNotAwaitingApprovalError(sagaId, state?.state ?? 'unknown', cause.message);
      }
      throw err;
    }
  }

  /** A page of the saga's event history as summaries; payloads are decoded and size-bounded only when asked. */
  async history(sagaId: string, options: HistoryOptions = {}): Promise<SagaPage<HistoryEventSummary>> {
    const pageSize = options.pageSize ?? 50;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE)
      throw new SagaClientOptionsError(`pageSize must be an integer in 1..${MAX_PAGE_SIZE}`);
    const maxPayloadChars = options.maxPayloadChars ?? 2000;
    if (!Number.isInteger(maxPayloadChars) || maxPayloadChars < 16)
      throw new SagaClientOptionsError('maxPayloadChars must be an integer >= 16');
    const converter = this.client.options.loadedDataConverter.payloadConverter;
    // The server may return more events than asked (whole batches of a closed run), so pages are cut here; the
    // token carries the server's token and the last event id handed out.
    let cursor = decodeHistoryToken(options.nextPageToken);
    const items: HistoryEventSummary[] = [];
    let more = false;
    for (;;) {
      let response;
      try {
        response = await this.client.workflowService.getWorkflowExecutionHistory({
          namespace: this.namespace,
          execution: { workflowId: sagaId, runId: options.runId },
          maximumPageSize: pageSize,
          nextPageToken: cursor.serverToken ? Buffer.from(cursor.serverToken, 'base64url') : undefined,
        });
      } catch (err) {
        if (isNotFound(err) || grpcCode(err) === 5) throw new SagaNotFoundError(sagaId, options.runId);
        throw err;
      }
      const fresh = (response.history?.events ?? []).filter((e) => Number(String(e.eventId)) > cursor.after);
      const taken = fresh.slice(0, pageSize - items.length);
      for (const event of taken) {
        items.push(
          summarizeHistoryEvent(event, {
            includePayloads: options.includePayloads ?? false,
            maxPayloadChars,
            decode: (p) => converter.fromPayload(p),
          }),
        );
      }
      const last = items.at(-1)?.eventId ?? cursor.after;
      if (taken.length < fresh.length) {
        more = true;
        cursor = { serverToken: cursor.serverToken, after: last };
        break;
      }
      const next = encodeToken(response.nextPageToken);
      if (!next) break;
      cursor = { serverToken: next, after: last };
      if (items.length >= pageSize) {
        more = true;
        break;
      }
    }
    return dropUndefined({
      items,
      nextPageToken: more ? encodeHistoryToken(cursor) : undefined,
    }) as SagaPage<HistoryEventSummary>;
  }

  /** Waits for the saga to finish; its result, or a SagaFailedError saying how it ended. */
  async result<TResult = PipelineResult>(sagaId: string, options: SagaResultOptions = {}): Promise<TResult> {
    const handle = this.client.workflow.getHandle<() => Promise<TResult>>(sagaId, options.runId);
    try {
      const { signal } = options;
      return await (signal ? this.client.withAbortSignal(signal, () => handle.result()) : handle.result());
    } catch (err) {
      if (options.signal?.aborted) throw err;
      if (isNotFound(err)) throw new SagaNotFoundError(sagaId, options.runId);
      if (err instanceof WorkflowFailedError) {
        const state = await this.getState(sagaId, options).catch(() => undefined);
        const reason = state?.error?.message ?? rootMessage(err);
        throw new SagaFailedError(sagaId, state?.state ?? 'failed', reason, { cause: err });
      }
      throw err;
    }
  }

  /** Closes the connection when this client opened it (`SagaClient.connect`). */
  async close(): Promise<void> {
    if (this.ownsConnection) await this.client.connection.close();
  }

  private async describeAsState(
    handle: WorkflowHandle,
    sagaId: string = handle.workflowId,
    runId?: string,
  ): Promise<SagaStateView | undefined> {
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      if (isNotFound(err)) throw new SagaNotFoundError(sagaId, runId);
      return undefined;
    }
    const attrs = description.searchAttributes ?? {};
    const state = (firstString(attrs.SagaState) ?? statusAsState(description.status.name)) as SagaStateName;
    return dropUndefined({
      sagaId: description.workflowId,
      runId: description.runId,
      workflowType: description.type,
      state,
      currentStep: firstString(attrs.SagaStep),
      steps: [],
      compensations: [],
    }) as SagaStateView;
  }
}

function parseAnswer<T>(
  schema: {
    safeParse(
      v: unknown,
    ):
      | { success: true; data: T }
      | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  input: unknown,
): T {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  throw new SagaClientOptionsError(
    'Invalid approval answer: ' +
      parsed.error.issues
        .map((i) => `${i.path.map(String).join('.') || '(answer)'}: ${i.message}`)
        .join('; '),
  );
}

function statusAsState(status: string): string {
  if (status === 'RUNNING') return 'pending';
  if (status === 'COMPLETED') return 'completed';
  return 'failed';
}

function isNotFound(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || (err as { name?: string })?.name === 'WorkflowNotFoundError';
}

function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

function rootMessage(err: unknown): string {
  let current = err as { message?: string; cause?: unknown } | undefined;
  let message = current?.message ?? String(err);
  while (current?.cause) {
    current = current.cause as { message?: string; cause?: unknown };
    if (current.message) message = current.message;
  }
  return message;
}

function firstString(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'string' ? v : undefined;
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The MCP bridge: sagalane's sagas and express lane as MCP tools, durable tasks, resources and a prompt, on top of
 * the typed clients. Built on @modelcontextprotocol/sdk (v1 line): the SDK speaks the protocol (initialize and
 * version negotiation, tools, the experimental tasks methods, resources, completion, logging/setLevel); sagalane
 * adds the task store backed by Temporal and the lane (task-store.ts), progress (waiting.ts), saga subscriptions
 * (saga-resources.ts) and `tasks/result` with progress (task-result-handler.ts).
 *
 * Nothing here opens a connection when the server is built: each tool asks its backend when it runs, so the server
 * answers `initialize` and `tools/list` with Temporal or Redis down, and a tool whose backend is down answers an
 * `isError` result naming it, then works as soon as it is back.
 */
import path from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { McpServer as ModernMcpServer } from '@modelcontextprotocol/server';
import { MAX_TIMER_MS } from '../config';
import type { SagaClient } from '../client/saga-client';
import type { ExpressClient } from '../lane/express-client';
import type { TaskSchema } from '../lane/task-types';
import { fixedBackends, type McpBackends } from './backends';
import { createModernMcpServer } from './modern-server';
import { registerResearchPrompt } from './research-prompt';
import { sagaListenFeed, type ListenFeed } from './saga-listen';
import { registerSagaResources, type SubscriptionBudget } from './saga-resources';
import { registerTaskResultHandler } from './task-result-handler';
import { SagalaneTaskStore, type TaskStoreOptions } from './task-store';
import { mcpLogger, type ToolContext } from './tool-context';
import { legacyToolRegistry } from './tool-registry';
import { tracedToolRegistry } from './tool-tracing';
import { registerSagalaneTools } from './tools';
import type { SagaCatalog } from '../catalog/catalog';
import { BUILTIN_SAGA_CATALOG } from '../workflows/research/research-pipeline-saga';
import { CATALOG_RESOURCE_METADATA, CATALOG_RESOURCE_URI, catalogResourceContents } from './catalog-tools';
import { describeFailure, type BackendAddresses } from './tool-results';

export interface CreateMcpServerOptions {
  /** The clients, opened on first use (e.g. `openLazyFrontDoor(config)`). Either this or `sagas` + `express`. */
  frontDoor?: McpBackends;
  /** An open SagaClient (with `express`), when not using `frontDoor`. */
  sagas?: SagaClient;
  /** An open ExpressClient (with `sagas`), when not using `frontDoor`. */
  express?: ExpressClient;
  /** Register only the tools that read (no start, cancel, approve or submit). @defaultValue false */
  readOnly?: boolean;
  /** Task types submit_task describes and accepts. @defaultValue DEFAULT_TASK_SCHEMAS */
  taskSchemas?: TaskSchema[];
  /**
   * The sagas with a start tool (`start_<type>`; the research pipeline's is start_pipeline).
   * @defaultValue the catalog of `sagas` when given, else the built-in one (SAGALANE_SAGAS: pass `loadSagaModule`'s)
   */
  catalog?: SagaCatalog;
  /** Directory of the data sets offered as completions. @defaultValue the package's `data/` */
  dataDir?: string;
  /** Poll intervals and retention reported on MCP tasks. @defaultValue see TaskStoreOptions */
  tasks?: TaskStoreOptions;
  /** Where Temporal and Redis are, named in "backend down" results when the error itself does not say. */
  addresses?: BackendAddresses;
  /** Longest a plain call may wait (`waitMs`). @defaultValue 60000 */
  maxWaitMs?: number;
  /**
   * Longest one `tasks/result` waits for its task to finish. Past it the request fails with JSON-RPC error -32001
   * (request timeout) saying the task is still running and to call tasks/result again (or poll tasks/get); the task
   * runs on. A request whose client cancelled it or went away stops waiting at once. @defaultValue 300000 (5 min)
   */
  taskResultWaitMs?: number;
  /**
   * Most `resources/subscribe` subscriptions the session holds at once (each follows a saga's history); one more is
   * refused with JSON-RPC error -32000 until one is unsubscribed. @defaultValue 100
   */
  maxSubscriptions?: number;
  /** Subscription places shared with other sessions (the HTTP endpoint's per-token cap). */
  subscriptionBudget?: SubscriptionBudget;
  /**
   * HMAC key of the 2026-07-28 approval rounds' `requestState` (`config.mcp.requestStateKey`), the same in every MCP
   * process. @defaultValue a key made for this process
   */
  requestStateKey?: string | Uint8Array;
  /** Server name announced to clients. @defaultValue 'sagalane' */
  name?: string;
  /** Server version announced to clients. @defaultValue the package version */
  version?: string;
}

export { READ_TOOLS, WRITE_TOOLS } from './tools';

export const DEFAULT_TASK_RESULT_WAIT_MS = 300_000;
export const DEFAULT_MAX_SUBSCRIPTIONS = 100;

export class McpServerOptionsError extends Error {
  override readonly name = 'McpServerOptionsError';
}

export function createMcpServer(options: CreateMcpServerOptions): McpServer {
  const backends = backendsOf(options);
  const readOnly = options.readOnly ?? false;
  const store = new SagalaneTaskStore(backends, { ...options.tasks, readOnly });
  const server = new McpServer(
    { name: options.name ?? 'sagalane', version: options.version ?? packageVersion() },
    {
      capabilities: {
        tools: { listChanged: false },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: false },
        completions: {},
        logging: {},
        // Read-only: tasks can be read and listed, never cancelled, and no tool call makes one (no start tools).
        tasks: readOnly ? { list: {} } : { list: {}, cancel: {}, requests: { tools: { call: {} } } },
      },
      taskStore: store,
      instructions:
        'sagalane runs research pipelines (idea + market symbol -> plan -> strategy code -> fitted parameters -> ' +
        'backtest) as durable sagas that roll back on failure, and single agent tasks on a fast Redis lane. ' +
        'Start a pipeline with start_pipeline (as an MCP task to poll it with tasks/get, or plainly and then ' +
        'get_saga until its state is completed, rolled_back or failed; or subscribe to saga://<sagaId>).',
    },
  );
  const log = mcpLogger(server);
  const describe = (err: unknown) => describeFailure(err, options.addresses);
  const failed = (tool: string) => ({
    describe,
    report: (description: string) => log('warning', `${tool} failed: ${description}`, { tool }),
  });
  const ctx: ToolContext = {
    server,
    tools: tracedToolRegistry(legacyToolRegistry(server, store, failed), '2025-11-25'),
    backends,
    store,
    log,
    describe,
    failed,
    maxWaitMs: options.maxWaitMs ?? 60_000,
    taskResultWaitMs: options.taskResultWaitMs ?? DEFAULT_TASK_RESULT_WAIT_MS,
  };
  if (!Number.isInteger(ctx.maxWaitMs) || ctx.maxWaitMs < 1)
    throw new McpServerOptionsError('maxWaitMs must be a positive integer (milliseconds)');
  // A timer cannot be longer than 2^31-1 ms: a longer one fires at once.
  if (
    !Number.isInteger(ctx.taskResultWaitMs) ||
    ctx.taskResultWaitMs < 1 ||
    ctx.taskResultWaitMs > MAX_TIMER_MS
  )
    throw new McpServerOptionsError(
      `taskResultWaitMs must be an integer in 1..${MAX_TIMER_MS} (milliseconds)`,
    );

  // The catalog of the sagas the start tools start: the option, else the given SagaClient's.
  const catalog = options.catalog ?? options.sagas?.catalog;
  registerSagalaneTools(ctx, { readOnly, taskSchemas: options.taskSchemas, ...(catalog ? { catalog } : {}) });
  // The SDK installs a tasks/cancel handler whenever it has a task store, whatever the capabilities say: take it
  // out, so a read-only client gets "method not found" (the store refuses a cancel as well, should one get by).
  if (readOnly) server.server.removeRequestHandler('tasks/cancel');
  const maxSubscriptions = options.maxSubscriptions ?? DEFAULT_MAX_SUBSCRIPTIONS;
  if (!Number.isInteger(maxSubscriptions) || maxSubscriptions < 1)
    throw new McpServerOptionsError('maxSubscriptions must be a positive integer');
  const served = catalog ?? BUILTIN_SAGA_CATALOG;
  registerSagaResources(ctx, { maxSubscriptions, budget: options.subscriptionBudget, types: served.types });
  server.registerResource('catalog', CATALOG_RESOURCE_URI, CATALOG_RESOURCE_METADATA, async (uri) =>
    catalogResourceContents(served, uri),
  );
  registerResearchPrompt(ctx, options.dataDir ?? path.resolve(__dirname, '..', '..', 'data'));
  registerTaskResultHandler(ctx);

  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    previousOnClose?.();
    store.cleanup();
  };
  modernFactories.set(server, () =>
    createModernMcpServer({
      backends,
      readOnly,
      taskSchemas: options.taskSchemas,
      ...(catalog ? { catalog } : {}),
      addresses: options.addresses,
      maxWaitMs: ctx.maxWaitMs,
      tasks: options.tasks,
      dataDir: options.dataDir,
      requestStateKey: options.requestStateKey,
      name: options.name,
      version: options.version,
    }),
  );
  modernListenFeeds.set(server, sagaListenFeed(backends));
  return server;
}

const modernFactories = new WeakMap<McpServer, () => ModernMcpServer>();
const modernListenFeeds = new WeakMap<McpServer, ListenFeed>();

/** What feeds the `subscriptions/listen` streams of the 2026-07-28 twin (stdio.ts): the same backends' sagas and tasks. */
export function modernListenFeedOf(server: McpServer): ListenFeed | undefined {
  return modernListenFeeds.get(server);
}

/**
 * The 2026-07-28 twin of a server `createMcpServer` built: same backends, tools, read-only rule and limits, served
 * statelessly by SDK v2 (modern-server.ts). stdio.ts serves it to a client whose first message is a 2026-07-28 one.
 */
export function modernServerFactoryOf(server: McpServer): (() => ModernMcpServer) | undefined {
  return modernFactories.get(server);
}

function backendsOf(options: CreateMcpServerOptions): McpBackends {
  if (options.frontDoor) return options.frontDoor;
  if (options.sagas && options.express) return fixedBackends(options.sagas, options.express);
  throw new McpServerOptionsError('createMcpServer needs frontDoor, or both sagas and express');
}

function packageVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export { describeFailure } from './tool-results';

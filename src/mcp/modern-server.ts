/**
 * The MCP server for protocol revision 2026-07-28, built on @modelcontextprotocol/server (SDK v2): stateless, one
 * instance per request (HTTP) or per connection (stdio), the version and client capabilities in each request's
 * `_meta`, `server/discover` answered by the SDK, input and output schemas emitted as JSON Schema 2020-12 from the
 * same zod schemas. The tools are the ones tools.ts lists for the 2025-11-25 sessions (server.ts), registered through
 * this file's `ToolRegistry`; the read-only rule is the same. Saga tasks follow the `io.modelcontextprotocol/tasks`
 * extension (modern-tasks.ts).
 *
 * 2025-11-25 clients are not served here: http-server.ts and stdio.ts route them to the SDK v1 session server,
 * which keeps sessions, `resources/subscribe` and the 2025-11-25 task methods.
 */
import path from 'node:path';
import { z } from 'zod';
import {
  completable,
  McpServer as ModernMcpServer,
  ResourceTemplate,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { DEFAULT_TASK_SCHEMAS } from '../client/front-door';
import type { TaskSchema } from '../lane/task-types';
import type { McpBackends } from './backends';
import { approvalStateCodec, callWithApprovalRounds, type ApprovalRoundsDeps } from './modern-approval';
import { registerModernTasks, taskCreated, tasksExtensionRequested, TASKS_EXTENSION } from './modern-tasks';
import {
  completeDatasets,
  completeSymbols,
  RESEARCH_PROMPT,
  RESEARCH_PROMPT_DESCRIPTIONS,
  researchPromptMessages,
} from './research-prompt';
import { sagaUri } from './saga-resources';
import { SagalaneTaskStore, type TaskStoreOptions } from './task-store';
import type { ToolDeps } from './tool-context';
import type { ToolCall, ToolRegistry } from './tool-registry';
import { tracedToolRegistry } from './tool-tracing';
import { describeFailure, runToolResult, type BackendAddresses } from './tool-results';
import { registerSagalaneTools } from './tools';
import type { SagaCatalog } from '../catalog/catalog';
import { BUILTIN_SAGA_CATALOG } from '../workflows/research/research-pipeline-saga';
import { CATALOG_RESOURCE_METADATA, CATALOG_RESOURCE_URI, catalogResourceContents } from './catalog-tools';

export interface ModernMcpServerOptions {
  backends: McpBackends;
  /** Register only the tools that read; tasks/cancel and tasks/update are refused. @defaultValue false */
  readOnly?: boolean;
  /** Task types submit_task describes and accepts. @defaultValue DEFAULT_TASK_SCHEMAS */
  taskSchemas?: TaskSchema[];
  /** The sagas with a start tool. @defaultValue the built-in catalog (the research pipeline) */
  catalog?: SagaCatalog;
  /** Where Temporal and Redis are, named in "backend down" results. */
  addresses?: BackendAddresses;
  /** Longest a plain call may wait (`waitMs`). @defaultValue 60000 */
  maxWaitMs?: number;
  /** Poll intervals and retention reported on tasks. @defaultValue see TaskStoreOptions */
  tasks?: TaskStoreOptions;
  /**
   * HMAC key (at least 32 bytes; a string is UTF-8) of the approval rounds' `requestState`: every process a retried
   * call may reach needs the same (SAGALANE_MCP_REQUEST_STATE_KEY, `config.mcp.requestStateKey`).
   * @defaultValue a key made for this process
   */
  requestStateKey?: string | Uint8Array;
  /** Directory of the data sets offered as the prompt's completions. @defaultValue the package's `data/` */
  dataDir?: string;
  name?: string;
  version?: string;
}

const LISTED_SAGAS = 50;

export function createModernMcpServer(options: ModernMcpServerOptions): ModernMcpServer {
  const readOnly = options.readOnly ?? false;
  const { backends } = options;
  const codec = approvalStateCodec(options.requestStateKey);
  const server = new ModernMcpServer(
    { name: options.name ?? 'sagalane', version: options.version ?? packageVersion() },
    {
      capabilities: {
        tools: { listChanged: false },
        // Over HTTP, subscriptions/listen streams get resources/updated for the saga:// URIs they name (saga-listen.ts).
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: false },
        extensions: { [TASKS_EXTENSION]: {} },
      },
      // The SDK checks an echoed requestState before a handler runs: a tampered or expired one is refused (-32602).
      requestState: { verify: codec.verify },
      instructions:
        'sagalane runs research pipelines (idea + market symbol -> plan -> strategy code -> fitted parameters -> ' +
        'backtest) as durable sagas that roll back on failure, and single agent tasks on a fast Redis lane. ' +
        'start_pipeline returns a task (the saga) when the client declares the io.modelcontextprotocol/tasks ' +
        'extension: poll tasks/get; otherwise it returns the sagaId (then get_saga until the state is final).',
    },
  );
  acceptTaskResults(server);
  const describe = (err: unknown) => describeFailure(err, options.addresses);
  const store = new SagalaneTaskStore(backends, { ...options.tasks, readOnly });
  const deps: ToolDeps = {
    tools: tracedToolRegistry(
      modernToolRegistry(server, store, describe, {
        backends,
        codec,
        maxWaitMs: options.maxWaitMs ?? 60_000,
      }),
      '2026-07-28',
    ),
    backends,
    // 2026-07-28 drops logging/setLevel and server-initiated log streams: nothing to send to.
    log: () => undefined,
    describe,
    failed: () => ({ describe, report: () => undefined }),
    maxWaitMs: options.maxWaitMs ?? 60_000,
  };
  registerSagalaneTools(deps, {
    readOnly,
    taskSchemas: options.taskSchemas ?? DEFAULT_TASK_SCHEMAS,
    ...(options.catalog ? { catalog: options.catalog } : {}),
  });
  const served = options.catalog ?? BUILTIN_SAGA_CATALOG;
  registerSagaResource(server, backends, served.types);
  server.registerResource('catalog', CATALOG_RESOURCE_URI, CATALOG_RESOURCE_METADATA, async (uri) =>
    catalogResourceContents(served, uri),
  );
  registerModernResearchPrompt(server, options.dataDir ?? path.resolve(__dirname, '..', '..', 'data'));
  registerModernTasks(server, store, { backends, readOnly, describe });
  return server;
}

/**
 * SDK v2 knows the `input_required` result of a tool call but not the tasks extension's CreateTaskResult, which it
 * would check against the tool's output schema (a task has no structured content) and turn into an error. The check
 * is skipped for a task; every other result is checked as before.
 */
function acceptTaskResults(server: ModernMcpServer): void {
  const instance = server as unknown as {
    validateToolOutput(tool: unknown, result: { resultType?: unknown }, name: string): Promise<void>;
  };
  const validate = instance.validateToolOutput.bind(server);
  instance.validateToolOutput = async (tool, result, name) =>
    result.resultType === 'task' ? undefined : validate(tool, result, name);
}

/** What a v2 tool body needs of its request: the `ToolCall` shape the tool modules use. */
function toolCallOf(ctx: ServerContext): ToolCall {
  return {
    _meta: ctx.mcpReq._meta as ToolCall['_meta'],
    signal: ctx.mcpReq.signal,
    sendNotification: (notification) => ctx.mcpReq.notify(notification as never),
  };
}

function modernToolRegistry(
  server: ModernMcpServer,
  store: SagalaneTaskStore,
  describe: (err: unknown) => string,
  rounds: ApprovalRoundsDeps,
): ToolRegistry {
  const handling = { describe, report: () => undefined };
  return {
    tool(name, config, run) {
      server.registerTool(name, { ...config, inputSchema: z.object(config.inputSchema) }, ((
        args: never,
        ctx: ServerContext,
      ) => run(args, toolCallOf(ctx))) as never);
    },
    taskTool(name, config, handlers) {
      server.registerTool(name, { ...config, inputSchema: z.object(config.inputSchema) }, (async (
        args: never,
        ctx: ServerContext,
      ) => {
        // The server decides when a call becomes a task: whenever the client declared the tasks extension.
        if (tasksExtensionRequested(ctx)) {
          try {
            const work = await handlers.start(args, toolCallOf(ctx));
            return await taskCreated(store, work);
          } catch (err) {
            return runToolResult(() => Promise.reject(err), handling);
          }
        }
        return runToolResult(
          () => callWithApprovalRounds(rounds, ctx, toolCallOf(ctx), args, handlers),
          handling,
        );
      }) as never);
    },
  };
}

/** The `research_idea` prompt, its symbol and dataset completing from the data sets (research-prompt.ts). */
function registerModernResearchPrompt(server: ModernMcpServer, dataDir: string): void {
  server.registerPrompt(
    RESEARCH_PROMPT.name,
    {
      title: RESEARCH_PROMPT.title,
      description: RESEARCH_PROMPT.description,
      argsSchema: z.object({
        idea: z.string().describe(RESEARCH_PROMPT_DESCRIPTIONS.idea),
        symbol: completable(z.string().describe(RESEARCH_PROMPT_DESCRIPTIONS.symbol), (value) =>
          completeSymbols(dataDir, value ?? ''),
        ),
        dataset: completable(z.string().optional().describe(RESEARCH_PROMPT_DESCRIPTIONS.dataset), (value) =>
          completeDatasets(dataDir, value ?? ''),
        ),
      }),
    },
    (args) => researchPromptMessages(args),
  );
}

/** `saga://{sagaId}`: a saga's state, and the newest sagas listed. */
function registerSagaResource(
  server: ModernMcpServer,
  backends: McpBackends,
  types: readonly string[],
): void {
  server.registerResource(
    'saga',
    new ResourceTemplate('saga://{sagaId}', {
      list: async () => {
        const page = await (await backends.sagas()).list({ pageSize: LISTED_SAGAS, types });
        return {
          resources: page.items.map((s) => ({
            uri: sagaUri(s.sagaId),
            name: s.sagaId,
            description: `${s.state ?? s.status}${s.symbol ? ` · ${s.symbol}` : ''}`,
            mimeType: 'application/json',
          })),
        };
      },
    }),
    {
      title: 'Saga state',
      description: 'The state query of a saga (same shape as get_saga), as JSON.',
      mimeType: 'application/json',
    },
    async (uri, variables) => {
      const id = decodeURIComponent(String(variables.sagaId));
      const state = await (await backends.sagas()).getState(id);
      return {
        contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(state, null, 2) }],
      };
    },
  );
}

function packageVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

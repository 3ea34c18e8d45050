/**
 * The MCP bridge: sagalane's sagas and express lane as MCP tools and resources, on top of the typed clients.
 *
 * Tools return JSON text. A failing call never throws out of a handler: it becomes an `isError` result whose text
 * says what was wrong and what to do next, so a model can correct itself and the server keeps serving.
 */
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ExpressClient } from '../lane/express-client';
import { LaneError, TaskNotFoundError, TaskWaitTimeoutError } from '../lane/errors';
import { SAGA_STATES, pipelineInputSchema } from '../workflows/pipeline-contract';
import { SagaClientError } from '../client/errors';
import type { SagaClient } from '../client/saga-client';

export interface CreateMcpServerOptions {
  sagas: SagaClient;
  express: ExpressClient;
  /** Register only the tools that read (no start, cancel or submit). @defaultValue false */
  readOnly?: boolean;
  /** Server name announced to clients. @defaultValue 'sagalane' */
  name?: string;
  /** Server version announced to clients. @defaultValue the package version */
  version?: string;
}

/** Tools that change something; `readOnly` leaves them out. */
export const WRITE_TOOLS = ['start_pipeline', 'cancel_saga', 'submit_task'] as const;
/** Tools that only read. */
export const READ_TOOLS = ['get_saga', 'list_sagas', 'get_saga_history', 'get_task', 'lane_stats'] as const;

/** Longest a tool call waits for a task result, so one call cannot hold a session for long. */
const MAX_WAIT_MS = 60_000;

const sagaId = z
  .string()
  .min(1)
  .max(1000)
  .describe('The saga id (its Temporal workflow id), e.g. pipeline-DEMO-…');
const runId = z.string().min(1).max(100).optional().describe('A specific run; default: the latest run');
const pageToken = z.string().max(10_000).optional().describe('nextPageToken from the previous page');

export function createMcpServer(options: CreateMcpServerOptions): McpServer {
  const { sagas, express } = options;
  const server = new McpServer(
    { name: options.name ?? 'sagalane', version: options.version ?? packageVersion() },
    {
      instructions:
        'sagalane runs research pipelines (idea + market symbol -> plan -> strategy code -> fitted parameters -> ' +
        'backtest) as durable sagas that roll back on failure, and single agent tasks on a fast Redis lane. ' +
        'Start a pipeline with start_pipeline, then poll get_saga until its state is completed, rolled_back or failed.',
    },
  );

  if (!options.readOnly) {
    server.registerTool(
      'start_pipeline',
      {
        title: 'Start a research pipeline',
        description:
          'Use when the user wants a trading idea researched end to end: it starts a durable saga that plans a ' +
          "strategy for the idea, generates its code, fits its parameters on the symbol's data set and backtests it. " +
          'Returns the sagaId at once (the work takes seconds to minutes); then call get_saga with it until state is ' +
          'completed (result has the backtest metrics) or rolled_back/failed (error says why). Starting again with ' +
          'the same workflowId while it runs returns the running saga instead of a duplicate. Sample symbols/data ' +
          'sets: DEMO, TREND, MEANREV.',
        inputSchema: {
          ...pipelineInputSchema.shape,
          workflowId: z
            .string()
            .min(1)
            .max(1000)
            .optional()
            .describe('Your own saga id, to make the start idempotent; default pipeline-<symbol>-<uuid>'),
        },
        annotations: {
          readOnlyHint: false,
          destructiveHint: false,
          idempotentHint: false,
          openWorldHint: false,
        },
      },
      (args) =>
        run(async () => {
          const { workflowId, ...input } = args;
          const started = await sagas.startPipeline(input, { workflowId });
          return {
            ...started,
            next: `Call get_saga with sagaId "${started.sagaId}" to follow it.`,
          };
        }),
    );
  }

  server.registerTool(
    'get_saga',
    {
      title: "Get a saga's state",
      description:
        'Use to check on a saga (e.g. one start_pipeline returned): its state (pending, reasoning, codegen, ml, ' +
        'backtest, completed, compensating, rolled_back, failed), the current step, finished steps with timings, ' +
        'the compensations that ran, the error if it failed, and the result (backtest metrics) once completed. ' +
        'Poll every few seconds while it is not in a final state (completed, rolled_back, failed).',
      inputSchema: { sagaId, runId },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) => run(() => sagas.getState(args.sagaId, { runId: args.runId })),
  );

  server.registerTool(
    'list_sagas',
    {
      title: 'List sagas',
      description:
        'Use to find sagas, newest first: all research pipelines, or only those in one state (e.g. rolled_back to ' +
        'see what failed). Each entry has sagaId, state, current step, idea, symbol and start/close times. ' +
        'Paginated: pass nextPageToken from the previous answer to get more.',
      inputSchema: {
        state: z.enum(SAGA_STATES).optional().describe('Only sagas in this state'),
        query: z
          .string()
          .max(2000)
          .optional()
          .describe('Extra Temporal visibility filter, e.g. StartTime > "2026-01-01T00:00:00Z"'),
        pageSize: z.number().int().min(1).max(100).optional().describe('Default 20'),
        nextPageToken: pageToken,
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) => run(() => sagas.list(args)),
  );

  if (!options.readOnly) {
    server.registerTool(
      'cancel_saga',
      {
        title: 'Cancel a saga',
        description:
          'Use only when the user asks to stop a running saga: it stops the current step and rolls back what the ' +
          'finished steps created (state goes compensating then rolled_back). Returns once the cancel is accepted; ' +
          'call get_saga to see the rollback finish. A saga that already finished cannot be cancelled.',
        inputSchema: {
          sagaId,
          reason: z.string().min(1).max(500).optional().describe("Why, recorded in the saga's error"),
        },
        annotations: {
          readOnlyHint: false,
          destructiveHint: true,
          idempotentHint: true,
          openWorldHint: false,
        },
      },
      (args) => run(() => sagas.cancel(args.sagaId, args.reason ?? 'cancelled through MCP')),
    );
  }

  server.registerTool(
    'get_saga_history',
    {
      title: "Get a saga's event history",
      description:
        'Use to debug a saga in detail (why a step failed, how many attempts, what ran when): its Temporal ' +
        'event history as short summaries, oldest first, paginated. Payloads (inputs/results) are left out unless ' +
        'includePayloads is true, and then cut to a size bound. Prefer get_saga for the current state.',
      inputSchema: {
        sagaId,
        runId,
        pageSize: z.number().int().min(1).max(200).optional().describe('Events per page, default 50'),
        nextPageToken: pageToken,
        includePayloads: z.boolean().optional().describe('Include decoded inputs/results (default false)'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      run(() =>
        sagas.history(args.sagaId, {
          runId: args.runId,
          pageSize: args.pageSize,
          nextPageToken: args.nextPageToken,
          includePayloads: args.includePayloads,
        }),
      ),
  );

  if (!options.readOnly) {
    server.registerTool(
      'submit_task',
      {
        title: 'Submit an express-lane task',
        description:
          'Use for one quick agent task that needs no rollback or durability (a saga is better for a full ' +
          'research run): types reasoning {idea, symbol}, codegen {plan}, ml {symbol, plan, dataset?}, ' +
          'backtest {symbol, params, dataset?}, research {idea, symbol, dataset?}, echo {message}, hash ' +
          '{data, rounds?}. lane express is served before standard. Set waitMs to wait for the result in this call; ' +
          'otherwise poll get_task with the returned taskId.',
        inputSchema: {
          type: z.string().min(1).max(100).describe('Task type, e.g. reasoning, backtest, echo'),
          payload: z.record(z.string(), z.unknown()).describe("The task type's input object"),
          lane: z.enum(['express', 'standard']).optional().describe("Default: the type's lane"),
          idempotencyKey: z
            .string()
            .min(1)
            .max(256)
            .optional()
            .describe('Repeating a key returns the first task instead of a new one'),
          waitMs: z
            .number()
            .int()
            .min(0)
            .max(MAX_WAIT_MS)
            .optional()
            .describe('Wait up to this long for the result'),
        },
        annotations: {
          readOnlyHint: false,
          destructiveHint: false,
          idempotentHint: false,
          openWorldHint: false,
        },
      },
      (args) =>
        run(async () => {
          const { taskId } = await express.submit({
            type: args.type,
            payload: args.payload,
            lane: args.lane,
            idempotencyKey: args.idempotencyKey,
          });
          if (!args.waitMs)
            return { taskId, status: 'queued', next: `Call get_task with taskId "${taskId}".` };
          return waitForTask(express, taskId, args.waitMs);
        }),
    );
  }

  server.registerTool(
    'get_task',
    {
      title: 'Get an express-lane task',
      description:
        'Use to check a task submit_task returned: status (queued, running, succeeded, failed = retrying, dead = ' +
        'gave up), attempts, and the result or error. Set waitMs to wait for it to finish in this call.',
      inputSchema: {
        taskId: z.string().min(1).max(600).describe('The taskId submit_task returned (<type>:<uuid>)'),
        waitMs: z
          .number()
          .int()
          .min(0)
          .max(MAX_WAIT_MS)
          .optional()
          .describe('Wait up to this long for the result'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      run(async () => {
        if (args.waitMs) return waitForTask(express, args.taskId, args.waitMs);
        const info = await express.get(args.taskId);
        if (!info) throw new TaskNotFoundError(args.taskId);
        return info;
      }),
  );

  server.registerTool(
    'lane_stats',
    {
      title: 'Express-lane statistics',
      description:
        'Use to see how busy the express lane is: per task type and lane, the backlog (length, lag), tasks in ' +
        'flight (pending), consumers (workers), delayed retries and dead letters. lag growing with consumers 0 ' +
        'means no worker is running.',
      inputSchema: {
        types: z.array(z.string().min(1).max(100)).max(50).optional().describe('Task types; default all'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) => run(async () => ({ lanes: await express.stats(args.types) })),
  );

  server.registerResource(
    'saga',
    new ResourceTemplate('saga://{sagaId}', {
      list: async () => {
        const page = await sagas.list({ pageSize: 50 });
        return {
          resources: page.items.map((s) => ({
            uri: `saga://${encodeURIComponent(s.sagaId)}`,
            name: s.sagaId,
            description: `${s.state ?? s.status}${s.symbol ? ` · ${s.symbol}` : ''}${s.idea ? ` · ${s.idea}` : ''}`,
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
      const state = await sagas.getState(id);
      return {
        contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(state, null, 2) }],
      };
    },
  );

  return server;
}

async function waitForTask(express: ExpressClient, taskId: string, waitMs: number) {
  try {
    return await express.result(taskId, { waitMs });
  } catch (err) {
    if (err instanceof TaskWaitTimeoutError) {
      const info = await express.get(taskId);
      return { ...info, taskId, note: `Not finished after ${waitMs} ms; call get_task again later.` };
    }
    throw err;
  }
}

/** Runs a tool body: its value as JSON text, or an `isError` result a model can act on. */
async function run(body: () => Promise<unknown>): Promise<CallToolResult> {
  try {
    const value = await body();
    return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }] };
  } catch (err) {
    return { isError: true, content: [{ type: 'text', text: describeFailure(err) }] };
  }
}

/** What went wrong, in words that tell the caller what to do next. */
export function describeFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof SagaClientError || err instanceof LaneError) return message;
  if (/UNAVAILABLE|ECONNREFUSED|connect|deadline/i.test(message))
    return (
      `Temporal could not be reached (${message}). The saga service is down or misconfigured: check that ` +
      'the server at TEMPORAL_ADDRESS runs (`sagalane dev` starts one locally), then retry.'
    );
  return `${message}. Check the arguments against the tool's input schema and retry.`;
}

function packageVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

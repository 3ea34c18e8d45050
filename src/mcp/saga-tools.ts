/**
 * The saga tools: start_pipeline (task-capable), get_saga, list_sagas, cancel_saga, get_saga_history.
 */
import { z } from 'zod';
import { parsePipelineInput } from '../client/saga-client';
import { InvalidSagaQueryError, visibilityQueryProblem } from '../client/visibility-query';
import {
  SAGA_STATES,
  pipelineInputSchema,
  pipelineWorkflowId,
} from '../workflows/research/pipeline-contract';
import { sagaOutcome } from './outcomes';
import {
  cancelOutput,
  historyOutput,
  sagaListOutput,
  sagaStateOutput,
  startPipelineOutput,
} from './output-schemas';
import { sagaStarts, type ToolDeps } from './tool-context';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { StartedWork, ToolCall } from './tool-registry';
import { okResult, runTool } from './tool-results';
import { reportSagaProgress } from './waiting';

export const sagaIdInput = z
  .string()
  .min(1)
  .max(1000)
  .describe('The saga id (its Temporal workflow id), e.g. pipeline-DEMO-…');
const runId = z.string().min(1).max(100).optional().describe('A specific run; default: the latest run');
export const pageTokenInput = z
  .string()
  .max(10_000)
  .optional()
  .describe('nextPageToken from the previous page');

const STATES_TEXT =
  'pending, reasoning, codegen, ml, backtest (the steps, in order), awaiting_approval (waiting for approve_saga ' +
  'or reject_saga), completed, compensating (rolling back), rolled_back (every finished step undone), failed (a ' +
  'compensation failed too)';

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The caller's W3C trace context (`_meta.traceparent`, both revisions), kept on the saga as its `traceparent` memo
 * so a trace can be joined to it; a value that is not a traceparent is left out.
 */
export function traceparentOf(call: ToolCall): string | undefined {
  const value = call._meta?.traceparent;
  return typeof value === 'string' && TRACEPARENT.test(value) ? value : undefined;
}

/**
 * A start tool's plain answer (start_pipeline and every start_<type>): the started saga at once, its state now when
 * answered later (the approval round of a 2026-07-28 call), or with `wait` its final state after step progress.
 */
export async function answerSagaStart(
  backends: ToolDeps['backends'],
  wait: boolean,
  work: StartedWork,
  call: ToolCall,
): Promise<CallToolResult> {
  const next = `Call get_saga with sagaId "${work.id}" to follow it.`;
  if (!wait && work.started) return okResult({ ...work.started, state: 'pending', next });
  const sagas = await backends.sagas();
  if (!wait) return okResult({ ...(await sagas.getState<unknown, string>(work.id)), next });
  await reportSagaProgress(sagas, work.id, call);
  return sagaOutcome(sagas, work.id, { signal: call.signal });
}

export function registerStartPipeline(ctx: ToolDeps): void {
  const { tools, backends } = ctx;
  tools.taskTool(
    'start_pipeline',
    {
      title: 'Start a research pipeline',
      description:
        'Use when the user wants a trading idea researched end to end: it starts a durable saga that plans a ' +
        "strategy for the idea, generates its code, fits its parameters on the symbol's data set and backtests it. " +
        'A plain call returns sagaId at once (then call get_saga until state is completed, rolled_back or failed); ' +
        'with wait: true it returns the final state (progress notifications per step if you pass a ' +
        'progressToken). As an MCP task it returns a task whose id is the sagaId: poll tasks/get (2025-11-25: ' +
        'fetch tasks/result), cancel with tasks/cancel. Starting again with the same workflowId while it runs ' +
        'returns the running saga. Sample symbols/data sets: DEMO, TREND, MEANREV.',
      inputSchema: {
        ...pipelineInputSchema.shape,
        workflowId: z
          .string()
          .min(1)
          .max(1000)
          .optional()
          .describe('Your own saga id, to make the start idempotent; default pipeline-<symbol>-<uuid>'),
        wait: z
          .boolean()
          .optional()
          .describe(
            'Plain calls only: wait for the saga to finish and return its final state (default false)',
          ),
      },
      outputSchema: startPipelineOutput,
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    {
      start: async (args, call) => {
        const { workflowId, wait: _wait, ...input } = args;
        const parsed = parsePipelineInput(input);
        const sagas = await backends.sagas();
        const traceparent = traceparentOf(call);
        const started = await sagas.startPipeline(parsed, {
          workflowId: workflowId ?? pipelineWorkflowId(parsed.symbol),
          ...(traceparent ? { memo: { traceparent } } : {}),
        });
        ctx.log('info', `saga ${started.sagaId} started`, { sagaId: started.sagaId, symbol: input.symbol });
        sagaStarts.emit('started', started.sagaId);
        return { kind: 'saga', id: started.sagaId, started };
      },
      answer: (args, work, call) => answerSagaStart(backends, args.wait === true, work, call),
      stopsForApproval: (args) => args.approval !== undefined,
    },
  );
}

export function registerSagaReadTools(ctx: ToolDeps): void {
  const { tools, backends } = ctx;
  tools.tool(
    'get_saga',
    {
      title: "Get a saga's state",
      description:
        `Use to check on a saga (e.g. one start_pipeline returned): its state (${STATES_TEXT}), the current step, ` +
        'finished steps with timings and attempts, the compensations that ran, the error if it rolled back, and ' +
        "the saga's result once completed (a research pipeline's: its backtest metrics). Poll every second or two " +
        'while the state is not final ' +
        '(completed, rolled_back, failed), or subscribe to the resource saga://<sagaId>.',
      inputSchema: { sagaId: sagaIdInput, runId },
      outputSchema: sagaStateOutput,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      runTool(
        async () => (await backends.sagas()).getState(args.sagaId, { runId: args.runId }),
        ctx.failed('get_saga'),
      ),
  );

  tools.tool(
    'list_sagas',
    {
      title: 'List sagas',
      description:
        'Use to find sagas of a type (default researchPipeline; the start_<type> tools name the others), newest ' +
        'first, or only those in one state (e.g. rolled_back to see what failed). Each entry has sagaId, state, ' +
        'current step, start/close times (and a research pipeline its idea and symbol). Paginated: pass ' +
        'nextPageToken from the previous answer to get more.',
      inputSchema: {
        type: z
          .string()
          .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'a saga type: a letter then letters, digits or _')
          .optional()
          .describe('The saga type (its workflow type); default researchPipeline'),
        state: z
          .string()
          .regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'a saga state or a step name')
          .optional()
          .describe(
            `Only sagas in this state: for a research pipeline one of ${SAGA_STATES.join(', ')}; for another type a lifecycle state or one of its step names`,
          ),
        query: z
          .string()
          .max(2000)
          .superRefine((query, check) => {
            const problem = visibilityQueryProblem(query);
            if (problem)
              check.addIssue({ code: 'custom', message: new InvalidSagaQueryError(query, problem).message });
          })
          .optional()
          .describe(
            'Extra Temporal visibility filter, ANDed with the others, e.g. StartTime > "2026-01-01T00:00:00Z" ' +
              '(balanced parentheses, closed quotes, no comments)',
          ),
        pageSize: z.number().int().min(1).max(100).optional().describe('Default 20'),
        nextPageToken: pageTokenInput,
      },
      outputSchema: sagaListOutput,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    (args) => runTool(async () => (await backends.sagas()).list(args), ctx.failed('list_sagas')),
  );

  tools.tool(
    'get_saga_history',
    {
      title: "Get a saga's event history",
      description:
        'Use to debug a saga in detail (why a step failed, how many attempts, what ran when): its Temporal ' +
        'event history as short summaries, oldest first, paginated. Payloads (inputs/results) are left out unless ' +
        'includePayloads is true, and then cut to a size bound. Prefer get_saga for the current state.',
      inputSchema: {
        sagaId: sagaIdInput,
        runId,
        pageSize: z.number().int().min(1).max(200).optional().describe('Events per page, default 50'),
        nextPageToken: pageTokenInput,
        includePayloads: z.boolean().optional().describe('Include decoded inputs/results (default false)'),
      },
      outputSchema: historyOutput,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      runTool(
        async () =>
          (await backends.sagas()).history(args.sagaId, {
            runId: args.runId,
            pageSize: args.pageSize,
            nextPageToken: args.nextPageToken,
            includePayloads: args.includePayloads,
          }),
        ctx.failed('get_saga_history'),
      ),
  );
}

export function registerCancelSaga(ctx: ToolDeps): void {
  const { tools, backends } = ctx;
  tools.tool(
    'cancel_saga',
    {
      title: 'Cancel a saga',
      description:
        'Use only when the user asks to stop a running saga: it stops the current step and rolls back what the ' +
        'finished steps created (state goes compensating then rolled_back). Returns once the cancel is accepted; ' +
        'call get_saga to see the rollback finish. A saga that already finished cannot be cancelled. For a saga ' +
        'started as an MCP task, tasks/cancel does the same.',
      inputSchema: {
        sagaId: sagaIdInput,
        reason: z.string().min(1).max(500).optional().describe("Why, recorded in the saga's error"),
      },
      outputSchema: cancelOutput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      runTool(async () => {
        const outcome = await (
          await backends.sagas()
        ).cancel(args.sagaId, args.reason ?? 'cancelled through MCP');
        ctx.log('notice', `saga ${args.sagaId} cancelled`, { sagaId: args.sagaId });
        return outcome;
      }, ctx.failed('cancel_saga')),
  );
}

export function registerApprovalTools(ctx: ToolDeps): void {
  const { tools, backends } = ctx;
  tools.tool(
    'approve_saga',
    {
      title: "Approve a saga's pending step",
      description:
        'Use when the user approves a saga waiting in state awaiting_approval (a pipeline started with approval: ' +
        '"before_backtest" waits there after ml, before the backtest runs): the saga goes on. Returns its state. ' +
        'A saga that is not awaiting approval (or was already answered) is refused with its current state.',
      inputSchema: {
        sagaId: sagaIdInput,
        approver: z.string().min(1).max(200).optional().describe('Who approves (recorded in the saga)'),
        comment: z.string().min(1).max(2000).optional().describe('Why, or any note (recorded in the saga)'),
      },
      outputSchema: sagaStateOutput,
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    (args) =>
      runTool(async () => {
        const state = await (
          await backends.sagas()
        ).approve(args.sagaId, {
          approver: args.approver,
          comment: args.comment,
        });
        ctx.log('notice', `saga ${args.sagaId} approved`, { sagaId: args.sagaId, approver: args.approver });
        return state;
      }, ctx.failed('approve_saga')),
  );

  tools.tool(
    'reject_saga',
    {
      title: "Reject a saga's pending step",
      description:
        'Use when the user rejects a saga waiting in state awaiting_approval: the saga rolls back what its ' +
        'finished steps created (compensating, then rolled_back with error.reason "rejected"). Returns its state ' +
        'once the rollback began. A saga that is not awaiting approval is refused with its current state.',
      inputSchema: {
        sagaId: sagaIdInput,
        reason: z.string().min(1).max(500).optional().describe("Why, recorded in the saga's error"),
        approver: z.string().min(1).max(200).optional().describe('Who rejects (recorded in the saga)'),
      },
      outputSchema: sagaStateOutput,
      annotations: {
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    (args) =>
      runTool(async () => {
        const state = await (
          await backends.sagas()
        ).reject(args.sagaId, {
          reason: args.reason,
          approver: args.approver,
        });
        ctx.log('notice', `saga ${args.sagaId} rejected`, { sagaId: args.sagaId, approver: args.approver });
        return state;
      }, ctx.failed('reject_saga')),
  );
}

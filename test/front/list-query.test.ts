/**
 * The `list_sagas` query cannot escape its filter (#25 finding 7): `SagaClient.list` wraps the caller's query as
 * `(query)` and ANDs it with `WorkflowType="researchPipeline"`, so `x) OR (WorkflowType!=""` used to list every
 * workflow of the namespace. Such a query is refused with InvalidSagaQueryError by the client, by the MCP tool's
 * input check and by the CLI, against the real dev server; a query with parentheses and quotes inside strings
 * still works.
 */
import { randomUUID } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { SagaClient } from '../../src/client/saga-client';
import {
  InvalidSagaQueryError,
  checkVisibilityQuery,
  visibilityQueryProblem,
} from '../../src/client/visibility-query';
import { DEFAULT_TASK_SCHEMAS } from '../../src/client/front-door';
import { ExpressClient } from '../../src/lane/express-client';
import { createMcpServer } from '../../src/mcp/server';
import { redisUrl, uniquePrefix } from '../helpers/redis';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  type TemporalTestContext,
} from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import { runSagalane } from './front-kit';
import { connectInProcess, textOf } from './mcp-kit';

const ESCAPE = 'WorkflowId="nope") OR (WorkflowType!=""';

describe('visibilityQueryProblem', () => {
  it('accepts filters whose parentheses and quotes stay inside', () => {
    for (const query of [
      'StartTime > "2026-01-01T00:00:00Z"',
      '(SagaStep = "ml" OR SagaStep = "backtest") AND StartTime > "2026-01-01T00:00:00Z"',
      'WorkflowId = "a) OR (b"',
      "WorkflowId = 'it''s (not) a paren'",
      'WorkflowId = "quote \\" ) inside"',
      'WorkflowId STARTS_WITH "pipeline-DEMO-"',
      '`SagaState` = "completed"',
      'ExecutionDuration > "1-2"',
    ])
      expect(visibilityQueryProblem(query)).toBeUndefined();
  });

  it('refuses a parenthesis closed below depth 0, unclosed parentheses or quotes, and comments', () => {
    expect(visibilityQueryProblem(ESCAPE)).toMatch(/position 18 closes a parenthesis the query did not open/);
    expect(visibilityQueryProblem(')(')).toMatch(/closes a parenthesis/);
    expect(visibilityQueryProblem('(a = "b"')).toMatch(/1 parenthesis is left open/);
    expect(visibilityQueryProblem('((a = "b")')).toMatch(/left open/);
    expect(visibilityQueryProblem('a = "b')).toMatch(/" opened at position 5 is never closed/);
    expect(visibilityQueryProblem("a = 'b\\'")).toMatch(/never closed/);
    expect(visibilityQueryProblem('a = `b')).toMatch(/never closed/);
    // A comment could hide a parenthesis from this check but not from the server's parser.
    expect(visibilityQueryProblem('/* ( */ x) OR (y /* ) */')).toMatch(/comments are not allowed/);
    expect(visibilityQueryProblem('a = "b" -- )')).toMatch(/comments/);
    expect(visibilityQueryProblem('a = "b" # )')).toMatch(/comments/);
    expect(() => checkVisibilityQuery(ESCAPE)).toThrow(InvalidSagaQueryError);
  });
});

describe('list_sagas query against Temporal', () => {
  let ctx: TemporalTestContext;
  let sagas: SagaClient;
  let express: ExpressClient;
  let otherId: string;
  const taskQueue = uniqueTaskQueue('list-query');

  beforeAll(async () => {
    ctx = await temporalTestContext();
    sagas = new SagaClient(ctx.client, { taskQueue });
    express = new ExpressClient({
      types: DEFAULT_TASK_SCHEMAS,
      redisUrl: redisUrl(),
      keyPrefix: uniquePrefix('list-query'),
    });
    // A workflow of another type (no worker: it stays running, visible to visibility queries).
    otherId = `not-a-saga-${randomUUID()}`;
    await ctx.client.workflow.start('notASaga', { taskQueue, workflowId: otherId });
    // Visibility is eventually consistent: wait until a listing sees it.
    await waitFor('the workflow in visibility', async () => {
      for await (const wf of ctx.client.workflow.list({ query: `WorkflowId = "${otherId}"` })) return true;
      return false;
    });
  });
  afterAll(async () => {
    await ctx.client.workflow
      .getHandle(otherId)
      .terminate('test done')
      .catch(() => undefined);
    await express.close();
    await ctx.closeAll();
  });

  it('the escape is real: composed as list composed it before, it lists the other workflow type', async () => {
    const raw = await ctx.client.workflowService.listWorkflowExecutions({
      namespace: 'default',
      query: `WorkflowType="researchPipeline" AND (${ESCAPE})`,
      pageSize: 1000,
    });
    expect(raw.executions.map((e) => e.execution?.workflowId)).toContain(otherId);
  });

  it('SagaClient.list refuses the escape instead of listing every workflow type', async () => {
    const listed = sagas.list({ query: ESCAPE, pageSize: 100 });
    await expect(listed).rejects.toThrow(InvalidSagaQueryError);
    await expect(listed).rejects.toThrow(/closes a parenthesis the query did not open/);
    // Parentheses and quotes that stay inside still work, and the filter holds.
    const page = await sagas.list({ query: `(WorkflowId = "${otherId}" OR WorkflowId = "a) OR (b")` });
    expect(page.items).toEqual([]);
  });

  it('the MCP tool refuses it at its input check, naming the problem', async () => {
    const client = await connectInProcess(createMcpServer({ sagas, express, readOnly: true }));
    try {
      const result = (await client.callTool({
        name: 'list_sagas',
        arguments: { query: ESCAPE, pageSize: 100 },
      })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/Invalid saga list query: the "\)" at position 18 closes a parenthesis/);
      expect(textOf(result)).not.toContain(otherId);
    } finally {
      await client.close();
    }
  });

  it('the CLI refuses it with exit code 1 and the reason', async () => {
    const run = await runSagalane(
      {
        ...process.env,
        TEMPORAL_ADDRESS: temporalAddress(),
        SAGALANE_TASK_QUEUE: taskQueue,
        REDIS_URL: redisUrl(),
        SAGALANE_LOG_LEVEL: 'warn',
      },
      ['saga', 'list', '--json', '--page-size', '100', '--query', ESCAPE],
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Invalid saga list query: the "\)" at position 18/);
    expect(run.stdout).not.toContain(otherId);
  });
});

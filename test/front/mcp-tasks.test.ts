/**
 * MCP tasks, progress, subscriptions, logging and completions, in process (InMemoryTransport, the SDK's own Client)
 * against the real dev server, the real saga worker with the real agents and the real express worker. A second
 * worker on its own task queue runs test agents that stop at `ml` until the test releases them, so a saga is
 * reliably running when a test cancels or subscribes to it.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  LoggingMessageNotificationSchema,
  McpError,
  RELATED_TASK_META_KEY,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type CallToolResult,
  type LoggingMessageNotification,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { SagaClient } from '../../src/client/saga-client';
import { ExpressClient } from '../../src/lane/express-client';
import { DEFAULT_TASK_TYPE_DEFAULTS, type TaskSchema } from '../../src/lane/task-types';
import { createLogger } from '../../src/logger';
import { createMcpServer } from '../../src/mcp/server';
import { createLogSagaSinks } from '../../src/runtime/saga-worker';
import type { PipelineStateView } from '../../src/workflows/research/pipeline-contract';
import { createTestPipelineActivities, releaseStep } from '../fixtures/test-activities';
import { uniqueTaskQueue } from '../helpers/temporal';
import { startPipeline } from '../sagas/saga-test-kit';
import { pollUntil, startFrontStack, type FrontStack } from './front-kit';
import { callJson, connectInProcess, OutputSchemaChecker, textOf } from './mcp-kit';

const FINAL = ['completed', 'rolled_back', 'failed'];
/** Sagas per tasks/list page (src/mcp/task-store.ts). */
const LIST_PAGE = 20;

describe('MCP tasks, progress, subscriptions', () => {
  let stack: FrontStack;
  let client: Client;
  let blocking: Client;
  let checker: OutputSchemaChecker;
  const blockingQueue = uniqueTaskQueue('front-mcp-tasks-block');
  const startTask = (c: Client, args: Record<string, unknown>) =>
    c.request(
      { method: 'tools/call', params: { name: 'start_pipeline', arguments: args } },
      CreateTaskResultSchema,
      { task: { ttl: 600_000 } },
    );

  beforeAll(async () => {
    stack = await startFrontStack('front-mcp-tasks');
    client = await connectInProcess(createMcpServer({ sagas: stack.sagas, express: stack.express }));
    const { activities } = createTestPipelineActivities({
      scenarioFor: () => ({ blockAt: 'ml' }),
      redis: stack.redis,
      keyPrefix: stack.config.keyPrefix,
    });
    await stack.ctx.startWorker({
      taskQueue: blockingQueue,
      activities,
      // A cancel reaches a blocked step on its next heartbeat; unthrottled, that is within the step's poll interval.
      maxHeartbeatThrottleInterval: '100ms',
      sinks: createLogSagaSinks(createLogger('silent')),
    });
    const blockingSagas = new SagaClient(stack.ctx.client, { taskQueue: blockingQueue });
    blocking = await connectInProcess(createMcpServer({ sagas: blockingSagas, express: stack.express }));
    checker = new OutputSchemaChecker((await client.listTools()).tools);
  });

  afterAll(async () => {
    await client?.close();
    await blocking?.close();
    await stack?.stop();
  });

  it('declares tasks, logging, completions and subscribable resources, and task support and hints per tool', async () => {
    const caps = client.getServerCapabilities()!;
    expect(caps.tasks).toEqual({ list: {}, cancel: {}, requests: { tools: { call: {} } } });
    expect(caps.logging).toEqual({});
    expect(caps.completions).toEqual({});
    expect(caps.resources).toMatchObject({ subscribe: true, listChanged: true });
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(byName.start_pipeline!.execution).toEqual({ taskSupport: 'optional' });
    expect(byName.submit_task!.execution).toEqual({ taskSupport: 'optional' });
    expect(byName.get_saga!.execution).toEqual({ taskSupport: 'forbidden' });
    for (const tool of tools) {
      expect(tool.outputSchema).toMatchObject({ type: 'object' });
      expect(tool.annotations).toMatchObject({ openWorldHint: false });
    }
    expect(byName.cancel_saga!.annotations).toMatchObject({ destructiveHint: true, idempotentHint: true });
    for (const name of ['get_saga', 'list_sagas', 'get_saga_history', 'get_task', 'lane_stats'])
      expect(byName[name]!.annotations).toMatchObject({ readOnlyHint: true, idempotentHint: true });
    // submit_task's payload is described by the task types' own schemas, one branch per type.
    const payload = byName.submit_task!.inputSchema.properties!.payload as {
      anyOf: { description?: string }[];
    };
    expect(payload.anyOf.map((b) => b.description)).toEqual(
      expect.arrayContaining(['payload of task type "echo"', 'payload of task type "backtest"']),
    );
  });

  it('runs start_pipeline as a task: the task id is the saga id, tasks/get follows it, tasks/result equals a waited plain call', async () => {
    // More sagas than a tasks/list page holds (20), run to the end first on a queue of their own with no-op agents,
    // so the listing below has a second page whatever else the shared dev server holds.
    const fillerQueue = uniqueTaskQueue('front-mcp-tasks-filler');
    await stack.ctx.startWorker({
      taskQueue: fillerQueue,
      activities: createTestPipelineActivities().activities,
      sinks: createLogSagaSinks(createLogger('silent')),
    });
    const fillers = await Promise.all(
      Array.from({ length: LIST_PAGE + 1 }, (_, i) =>
        startPipeline(stack.ctx.client, fillerQueue, { idea: `page filler ${i}`, symbol: 'FILL' }),
      ),
    );
    await Promise.all(fillers.map((h) => h.result()));

    const created = await startTask(client, { idea: 'trend following with moving averages', symbol: 'DEMO' });
    const taskId = created.task.taskId;
    expect(taskId).toMatch(/^pipeline-DEMO-[0-9a-f-]{36}$/);
    expect(created.task).toMatchObject({ status: 'working', pollInterval: 500 });
    expect(created.task.ttl).toBeGreaterThan(0); // the namespace's retention
    // The saga is the task: get_saga knows it.
    expect((await callJson<PipelineStateView>(client, 'get_saga', { sagaId: taskId })).sagaId).toBe(taskId);
    const statuses = new Set<string>();
    const done = await pollUntil(
      () => client.experimental.tasks.getTask(taskId),
      (t) => {
        statuses.add(t.status);
        return t.status !== 'working';
      },
    );
    expect(done.status).toBe('completed');
    const result = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    expect(result._meta?.[RELATED_TASK_META_KEY]).toEqual({ taskId });
    expect(result.isError).toBeUndefined();
    checker.check('start_pipeline', result);
    const state = result.structuredContent as unknown as PipelineStateView;
    expect(state.state).toBe('completed');
    expect(Number.isFinite(state.result!.metrics.sharpe)).toBe(true);

    // A plain call that waits answers exactly what tasks/result answers for its saga.
    const plain = (await client.callTool({
      name: 'start_pipeline',
      arguments: { idea: 'mean reversion after gaps', symbol: 'MEANREV', wait: true },
    })) as CallToolResult;
    checker.check('start_pipeline', plain);
    const plainId = (plain.structuredContent as { sagaId: string }).sagaId;
    const fetched = await client.experimental.tasks.getTaskResult(plainId, CallToolResultSchema);
    const { _meta, ...withoutMeta } = fetched;
    expect(_meta).toEqual({ [RELATED_TASK_META_KEY]: { taskId: plainId } });
    expect(withoutMeta).toEqual(plain);

    // tasks/list pages over recent sagas: the ones just run are there, a cursor gives the next page (there is one:
    // the fillers alone are more than a page). Visibility is updated asynchronously: ask until both sagas show up.
    const page = await pollUntil(
      () => client.experimental.tasks.listTasks(),
      (p) => [taskId, plainId].every((id) => p.tasks.some((t) => t.taskId === id)),
      20_000,
      500,
    );
    expect(page.tasks).toHaveLength(LIST_PAGE);
    expect(page.tasks.find((t) => t.taskId === taskId)!.status).toBe('completed');
    expect(page.nextCursor).toEqual(expect.any(String));
    const next = await client.experimental.tasks.listTasks(page.nextCursor);
    expect(next.tasks.length).toBeGreaterThan(0);
    expect(next.tasks.filter((t) => page.tasks.some((p) => p.taskId === t.taskId))).toEqual([]);
  });

  it('a plain start_pipeline returns the saga id at once and validates against its outputSchema', async () => {
    const result = (await client.callTool({
      name: 'start_pipeline',
      arguments: { idea: 'breakouts above the 20-day high', symbol: 'TREND' },
    })) as CallToolResult;
    checker.check('start_pipeline', result);
    expect(result.structuredContent).toMatchObject({
      state: 'pending',
      next: expect.stringContaining('get_saga'),
    });
  });

  it('sends one progress notification per transition, in order, for a waiting call and for tasks/result', async () => {
    const progress: Progress[] = [];
    const plain = (await client.callTool(
      { name: 'start_pipeline', arguments: { idea: 'trend following', symbol: 'DEMO', wait: true } },
      CallToolResultSchema,
      { onprogress: (p) => progress.push(p) },
    )) as CallToolResult;
    expect(plain.isError).toBeUndefined();
    // The saga no longer upserts `pending` (its first transition is the first step).
    expect(progress.map((p) => p.message)).toEqual([
      'step 1 of 4: reasoning',
      'step 2 of 4: codegen',
      'step 3 of 4: ml',
      'step 4 of 4: backtest',
      'completed',
    ]);
    expect(progress.map((p) => p.progress)).toEqual([2, 3, 4, 5, 6]);
    expect(progress.every((p) => p.total === 6)).toBe(true);

    const created = await startTask(client, { idea: 'trend following', symbol: 'TREND' });
    const fromResult: Progress[] = [];
    const result = await client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema, {
      onprogress: (p) => fromResult.push(p),
    });
    expect((result.structuredContent as { state: string }).state).toBe('completed');
    expect(fromResult.map((p) => p.message)).toEqual(progress.map((p) => p.message));
  });

  it('cancels a task with tasks/cancel: cancelled at once, the saga rolls back in Temporal, visible in get_saga', async () => {
    const created = await startTask(blocking, { idea: 'cancel me while ml runs', symbol: 'CNL' });
    const taskId = created.task.taskId;
    const atMl = await pollUntil(
      () => blocking.experimental.tasks.getTask(taskId),
      (t) => t.statusMessage === 'step 3 of 4: ml',
    );
    expect(atMl.status).toBe('working');
    const cancelled = await blocking.experimental.tasks.cancelTask(taskId);
    expect(cancelled).toMatchObject({ taskId, status: 'cancelled' });
    const final = await pollUntil(
      () => callJson<PipelineStateView>(blocking, 'get_saga', { sagaId: taskId }),
      (s) => FINAL.includes(s.state),
    );
    expect(final.state).toBe('rolled_back');
    expect(final.error).toMatchObject({
      reason: 'cancelled',
      cancelReason: expect.stringContaining('tasks/cancel'),
    });
    expect(final.compensations.map((c) => [c.step, c.status])).toEqual([
      ['codegen', 'completed'],
      ['reasoning', 'completed'],
    ]);
    // Another session (no memory of the cancel) sees it cancelled too, from the saga's state.
    const other = await client.experimental.tasks.getTask(taskId);
    expect(other.status).toBe('cancelled');
    expect(other.statusMessage).toContain('rollback finished');
    const result = await blocking.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('ended in state rolled_back: saga cancelled during step "ml"');
    // A terminal task cannot be cancelled again (-32602, as the spec requires).
    await expect(blocking.experimental.tasks.cancelTask(taskId)).rejects.toMatchObject({ code: -32602 });
    await expect(client.experimental.tasks.getTask('pipeline-NOPE-no-such-saga')).rejects.toMatchObject({
      code: -32602,
    });
  });

  it('notifies a subscriber of every transition after it subscribed, and none after it unsubscribed', async () => {
    const updates: string[] = [];
    blocking.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    const listChanged: unknown[] = [];
    blocking.setNotificationHandler(ResourceListChangedNotificationSchema, (n) => {
      listChanged.push(n);
    });
    const start = (symbol: string) =>
      callJson<{ sagaId: string }>(blocking, 'start_pipeline', { idea: 'subscribe to me', symbol });
    const kept = (await start('SUBA')).sagaId;
    const dropped = (await start('SUBB')).sagaId;
    expect(listChanged.length).toBeGreaterThanOrEqual(2); // list_changed when a saga starts
    const uriOf = (id: string) => `saga://${encodeURIComponent(id)}`;
    for (const id of [kept, dropped])
      await pollUntil(
        () => callJson<PipelineStateView>(blocking, 'get_saga', { sagaId: id }),
        (s) => s.state === 'ml',
      );
    await blocking.subscribeResource({ uri: uriOf(kept) });
    await blocking.subscribeResource({ uri: uriOf(dropped) });
    await blocking.unsubscribeResource({ uri: uriOf(dropped) });

    // The dropped saga finishes first; then the kept one, whose updates arrive.
    await releaseStep(stack.redis, stack.config.keyPrefix, dropped);
    await pollUntil(
      () => callJson<PipelineStateView>(blocking, 'get_saga', { sagaId: dropped }),
      (s) => s.state === 'completed',
    );
    await releaseStep(stack.redis, stack.config.keyPrefix, kept);
    await pollUntil(
      async () => updates.filter((u) => u === uriOf(kept)).length,
      (n) => n >= 2,
    );
    // ml -> backtest -> completed: two transitions after subscribing, one update each.
    expect(updates.filter((u) => u === uriOf(kept))).toHaveLength(2);
    expect(updates).not.toContain(uriOf(dropped));
    const read = await blocking.readResource({ uri: uriOf(kept) });
    expect(JSON.parse((read.contents[0] as { text: string }).text).state).toBe('completed');
  });

  it('answers a subscription to something that is not a saga with "resource not found" (-32002)', async () => {
    const notSaga = blocking.subscribeResource({ uri: 'file:///etc/passwd' });
    await expect(notSaga).rejects.toBeInstanceOf(McpError);
    await expect(notSaga).rejects.toMatchObject({ code: -32002 });
    await expect(blocking.subscribeResource({ uri: 'saga://pipeline-NOPE-missing' })).rejects.toMatchObject({
      code: -32002,
    });
  });

  it('filters log notifications by logging/setLevel', async () => {
    const logs: LoggingMessageNotification['params'][] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logs.push(n.params);
    });
    await client.setLoggingLevel('warning');
    await client.callTool({ name: 'start_pipeline', arguments: { idea: 'a fine idea', symbol: 'DEMO' } });
    // Bad arguments the SDK refuses before the tool runs are not logged; a failing tool is.
    await client.callTool({ name: 'get_saga', arguments: { sagaId: 'pipeline-NOPE-logged' } });
    await pollUntil(
      async () => logs.length,
      (n) => n >= 1,
    );
    expect(logs.map((l) => l.level)).toEqual(['warning']);
    expect(logs[0]!.data).toMatchObject({
      message: expect.stringContaining('get_saga failed: No saga "pipeline-NOPE-logged"'),
      tool: 'get_saga',
    });
    await client.setLoggingLevel('info');
    await client.callTool({ name: 'start_pipeline', arguments: { idea: 'a fine idea', symbol: 'DEMO' } });
    await pollUntil(
      async () => logs.length,
      (n) => n >= 2,
    );
    expect(logs[1]).toMatchObject({ level: 'info', logger: 'sagalane' });
    expect(JSON.stringify(logs[1]!.data)).toMatch(/saga pipeline-DEMO-.* started/);
  });

  it('completes saga ids by prefix, symbols and data sets', async () => {
    const { sagaId } = await callJson<{ sagaId: string }>(client, 'start_pipeline', {
      idea: 'complete me',
      symbol: 'CMPL',
    });
    const ids = await client.complete({
      ref: { type: 'ref/resource', uri: 'saga://{sagaId}' },
      argument: { name: 'sagaId', value: 'pipeline-CMPL' },
    });
    expect(ids.completion.values).toContain(sagaId);
    expect(ids.completion.values.every((v) => v.startsWith('pipeline-CMPL'))).toBe(true);
    const symbols = await client.complete({
      ref: { type: 'ref/prompt', name: 'research_idea' },
      argument: { name: 'symbol', value: 't' },
    });
    expect(symbols.completion.values).toEqual(['TREND']);
    const datasets = await client.complete({
      ref: { type: 'ref/prompt', name: 'research_idea' },
      argument: { name: 'dataset', value: 'ME' },
    });
    expect(datasets.completion.values).toEqual(['MEANREV']);
  });

  it('runs submit_task as a task on the lane and returns structured results from every tool', async () => {
    const created = await client.request(
      {
        method: 'tools/call',
        params: { name: 'submit_task', arguments: { type: 'echo', payload: { message: 'hi' } } },
      },
      CreateTaskResultSchema,
      { task: {} },
    );
    expect(created.task.taskId).toMatch(/^echo:[0-9a-f-]{36}$/);
    expect(created.task.pollInterval).toBe(200);
    const result = await client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
    checker.check('submit_task', result);
    expect(result.structuredContent).toMatchObject({ status: 'succeeded', result: { message: 'hi' } });
    expect((await client.experimental.tasks.getTask(created.task.taskId)).status).toBe('completed');
    await expect(client.experimental.tasks.cancelTask(created.task.taskId)).rejects.toMatchObject({
      code: -32602, // already terminal
    });

    const { sagaId } = await callJson<{ sagaId: string }>(client, 'start_pipeline', {
      idea: 'structured please',
      symbol: 'DEMO',
    });
    const calls: [string, Record<string, unknown>][] = [
      ['get_saga', { sagaId }],
      ['list_sagas', { pageSize: 3 }],
      ['get_saga_history', { sagaId, pageSize: 3 }],
      ['submit_task', { type: 'hash', payload: { data: 'abc' }, waitMs: 20_000 }],
      ['lane_stats', { types: ['echo'] }],
    ];
    for (const [name, args] of calls) {
      const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect(r.isError).toBeUndefined();
      checker.check(name, r);
    }
    const taskId = created.task.taskId;
    checker.check(
      'get_task',
      (await client.callTool({ name: 'get_task', arguments: { taskId } })) as CallToolResult,
    );
    await pollUntil(
      () => callJson<PipelineStateView>(client, 'get_saga', { sagaId }),
      (s) => FINAL.includes(s.state),
    );
    checker.check(
      'cancel_saga',
      (await blocking.callTool({
        name: 'cancel_saga',
        arguments: {
          sagaId: (
            await callJson<{ sagaId: string }>(blocking, 'start_pipeline', { idea: 'stop', symbol: 'STP' })
          ).sagaId,
        },
      })) as CallToolResult,
    );
  });

  it('approves and rejects a saga waiting for approval (approve_saga / reject_saga); answering another is refused', async () => {
    const startGated = (symbol: string) =>
      callJson<{ sagaId: string }>(client, 'start_pipeline', {
        idea: 'trend following, with a human in the loop',
        symbol,
        approval: 'before_backtest',
      });
    const waiting = async (sagaId: string) =>
      pollUntil(
        () => callJson<PipelineStateView>(client, 'get_saga', { sagaId }),
        (s) => s.state === 'awaiting_approval' || FINAL.includes(s.state),
      );
    const approved = (await startGated('DEMO')).sagaId;
    const rejected = (await startGated('TREND')).sagaId;
    expect((await waiting(approved)).state).toBe('awaiting_approval');
    expect((await waiting(rejected)).state).toBe('awaiting_approval');
    // As a task it is still working, and says what it waits for.
    expect((await client.experimental.tasks.getTask(approved)).statusMessage).toContain(
      'waiting for approve_saga or reject_saga',
    );

    const approve = (await client.callTool({
      name: 'approve_saga',
      arguments: { sagaId: approved, approver: 'jest', comment: 'looks fine' },
    })) as CallToolResult;
    checker.check('approve_saga', approve);
    const done = await pollUntil(
      () => callJson<PipelineStateView>(client, 'get_saga', { sagaId: approved }),
      (s) => FINAL.includes(s.state),
    );
    expect(done.state).toBe('completed');

    const reject = (await client.callTool({
      name: 'reject_saga',
      arguments: { sagaId: rejected, reason: 'too risky', approver: 'jest' },
    })) as CallToolResult;
    checker.check('reject_saga', reject);
    const rolledBack = await pollUntil(
      () => callJson<PipelineStateView>(client, 'get_saga', { sagaId: rejected }),
      (s) => FINAL.includes(s.state),
    );
    expect(rolledBack.state).toBe('rolled_back');
    expect(rolledBack.error).toMatchObject({ reason: 'rejected', cancelReason: 'too risky' });
    expect((await client.experimental.tasks.getTask(rejected)).status).toBe('failed');

    const again = (await client.callTool({
      name: 'approve_saga',
      arguments: { sagaId: approved },
    })) as CallToolResult;
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(/not awaiting approval/i);
  });

  it("reports lane progress to get_task with waitMs, and a full backlog as an isError result with the lane's message", async () => {
    const { taskId } = await callJson<{ taskId: string }>(client, 'submit_task', {
      type: 'hash',
      payload: { data: 'progress please', rounds: 3 },
    });
    const progress: Progress[] = [];
    const waited = (await client.callTool(
      { name: 'get_task', arguments: { taskId, waitMs: 20_000 } },
      CallToolResultSchema,
      { onprogress: (p) => progress.push(p) },
    )) as CallToolResult;
    checker.check('get_task', waited);
    expect(waited.structuredContent).toMatchObject({ status: 'succeeded' });
    expect(progress.at(-1)!.message).toBe('succeeded');
    expect(progress.map((p) => p.progress)).toEqual(progress.map((_, i) => i + 1));

    // A type of its own with a backlog limit of 2 and no worker: the third submit is refused by the lane.
    const tight: TaskSchema = {
      name: `mcpbacklog${Date.now()}`,
      schema: z.object({ n: z.number() }),
      defaults: { ...DEFAULT_TASK_TYPE_DEFAULTS, maxBacklog: 2 },
    };
    const express = new ExpressClient({
      types: [tight],
      redisUrl: stack.config.redisUrl,
      keyPrefix: stack.config.keyPrefix,
    });
    const tightClient = await connectInProcess(
      createMcpServer({ sagas: stack.sagas, express, taskSchemas: [tight] }),
    );
    try {
      for (const n of [1, 2])
        expect(
          (
            await tightClient.callTool({
              name: 'submit_task',
              arguments: { type: tight.name, payload: { n } },
            })
          ).isError,
        ).toBeUndefined();
      const refused = (await tightClient.callTool({
        name: 'submit_task',
        arguments: { type: tight.name, payload: { n: 3 } },
      })) as CallToolResult;
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain(
        `holds 2 tasks, at its limit of 2 (defaults.maxBacklog): the submit was refused`,
      );
    } finally {
      await tightClient.close();
      await express.close();
    }
  });
});

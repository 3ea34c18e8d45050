/**
 * A read-only MCP server changes nothing: while a saga runs (held at `ml` by the test agents), a read-only client
 * tries every mutating tool and every mutating protocol method, and the saga is exactly as it was, then completes
 * untouched once the test releases it. On the code before the fix, `tasks/cancel` through the read-only server
 * rolled the saga back (the SDK installs the handler whenever there is a task store).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateTaskResultSchema,
  EmptyResultSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { SagaClient } from '../../src/client/saga-client';
import { createLogger } from '../../src/logger';
import { createMcpServer, WRITE_TOOLS } from '../../src/mcp/server';
import { ReadOnlyTaskStoreError, SagalaneTaskStore } from '../../src/mcp/task-store';
import { createLogSagaSinks } from '../../src/runtime/saga-worker';
import type { SagaStateView } from '../../src/workflows/saga-contract';
import { createTestPipelineActivities, releaseStep } from '../fixtures/test-activities';
import { uniqueTaskQueue } from '../helpers/temporal';
import { pollUntil, startFrontStack, type FrontStack } from './front-kit';
import { callJson, connectInProcess, textOf } from './mcp-kit';

describe('a read-only MCP server', () => {
  let stack: FrontStack;
  let sagas: SagaClient;
  let readOnly: Client;
  const queue = uniqueTaskQueue('front-mcp-read-only');

  beforeAll(async () => {
    stack = await startFrontStack('front-mcp-ro', { expressWorker: false });
    const { activities } = createTestPipelineActivities({
      scenarioFor: () => ({ blockAt: 'ml' }),
      redis: stack.redis,
      keyPrefix: stack.config.keyPrefix,
    });
    await stack.ctx.startWorker({
      taskQueue: queue,
      activities,
      maxHeartbeatThrottleInterval: '100ms',
      sinks: createLogSagaSinks(createLogger('silent')),
    });
    sagas = new SagaClient(stack.ctx.client, { taskQueue: queue });
    readOnly = await connectInProcess(
      createMcpServer({ sagas, express: stack.express, readOnly: true }),
      'read-only-test',
    );
  });

  afterAll(async () => {
    await readOnly?.close();
    await stack?.stop();
  });

  it('declares no task cancel and no task-making calls', () => {
    expect(readOnly.getServerCapabilities()!.tasks).toEqual({ list: {} });
  });

  it('refuses every mutating tool and method while a saga runs, and the saga is unchanged', async () => {
    const { sagaId } = await sagas.startPipeline({ idea: 'trend following', symbol: 'ROSAGA' });
    const atMl = await pollUntil(
      () => sagas.getState(sagaId),
      (s) => s.currentStep === 'ml' && s.state === 'ml',
    );
    // The read-only client sees the saga, as a task and through its tools.
    const { tasks } = await readOnly.experimental.tasks.listTasks();
    expect(tasks.map((t) => t.taskId)).toContain(sagaId);
    expect((await callJson<SagaStateView>(readOnly, 'get_saga', { sagaId })).state).toBe('ml');

    const attempts: Record<string, string> = {};
    const argsFor: Record<(typeof WRITE_TOOLS)[number], Record<string, unknown>> = {
      start_pipeline: { idea: 'x', symbol: 'ROX' },
      cancel_saga: { sagaId, reason: 'read-only client' },
      approve_saga: { sagaId },
      reject_saga: { sagaId, reason: 'read-only client' },
      submit_task: { type: 'echo', payload: { text: 'hi' } },
    };
    for (const name of WRITE_TOOLS) {
      const result = (await readOnly.callTool({ name, arguments: argsFor[name] })) as CallToolResult;
      expect(result.isError).toBe(true);
      attempts[name] = textOf(result);
    }
    // The same tools asked for as tasks: no task is made.
    for (const name of WRITE_TOOLS)
      await expect(
        readOnly.request(
          { method: 'tools/call', params: { name, arguments: argsFor[name] } },
          CreateTaskResultSchema,
          { task: { ttl: 60_000 } },
        ),
      ).rejects.toThrow();
    // tasks/cancel, through the SDK's helper and as a raw request.
    await expect(readOnly.experimental.tasks.cancelTask(sagaId)).rejects.toMatchObject({ code: -32601 });
    await expect(
      readOnly.request({ method: 'tasks/cancel', params: { taskId: sagaId } }, z.object({}).passthrough()),
    ).rejects.toMatchObject({ code: -32601 });
    // What a read-only client may do still works (subscriptions only notify this session).
    await expect(
      readOnly.request(
        { method: 'resources/subscribe', params: { uri: `saga://${sagaId}` } },
        EmptyResultSchema,
      ),
    ).resolves.toEqual({});
    for (const text of Object.values(attempts)) expect(text).toMatch(/not found|read-only|unknown/i);

    const after = await sagas.getState(sagaId);
    expect(after.state).toBe('ml');
    expect(after.error).toBeUndefined();
    expect(after.compensations).toEqual([]);
    expect(after.steps.map((s) => [s.name, s.status, s.attempts])).toEqual(
      atMl.steps.map((s) => [s.name, s.status, s.attempts]),
    );

    // Released, it completes: nothing the read-only client did reached it.
    await releaseStep(stack.redis, stack.config.keyPrefix, sagaId);
    expect((await sagas.result(sagaId)).sagaId).toBe(sagaId);
    expect((await sagas.getState(sagaId)).state).toBe('completed');
  });

  it('has a task store that refuses a cancel by itself', async () => {
    const store = new SagalaneTaskStore(
      { sagas: () => Promise.resolve(sagas), express: () => Promise.resolve(stack.express) },
      { readOnly: true },
    );
    await expect(store.updateTaskStatus('pipeline-X-any', 'cancelled')).rejects.toBeInstanceOf(
      ReadOnlyTaskStoreError,
    );
  });
});

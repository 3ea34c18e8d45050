/**
 * Pure parts of the MCP bridge, and the SDK v1 behaviours it is built on (pinned here so an SDK upgrade that changes
 * them fails a test instead of the bridge): progress values and messages per saga transition, the saga → task status
 * mapping, and how McpServer routes a plain call of a task-capable tool through the task store.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/stores/in-memory.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, Request } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { laneTaskStatusOf, progressOf, taskStatusOf, type SagaTransition } from '../../src/mcp/progress';
import { SagalaneTaskStore } from '../../src/mcp/task-store';

function replay(transitions: SagaTransition[], workflowType = 'researchPipeline') {
  let previous = 0;
  const stepsSeen: string[] = [];
  return transitions.map((t) => {
    const update = progressOf(t, { workflowType, previous, stepsSeen });
    if (t.step && t.state === t.step) stepsSeen.push(t.step);
    previous = update.progress;
    return update;
  });
}

describe('progress per saga transition', () => {
  it('counts the pipeline steps as "step n of m" with a growing progress and a fixed total', () => {
    const updates = replay([
      { state: 'pending' },
      { state: 'reasoning', step: 'reasoning' },
      { state: 'codegen', step: 'codegen' },
      { state: 'ml', step: 'ml' },
      { state: 'backtest', step: 'backtest' },
      { state: 'completed', step: 'backtest' },
    ]);
    expect(updates.map((u) => u.message)).toEqual([
      'pending: waiting for a saga worker to start it',
      'step 1 of 4: reasoning',
      'step 2 of 4: codegen',
      'step 3 of 4: ml',
      'step 4 of 4: backtest',
      'completed',
    ]);
    expect(updates.map((u) => u.progress)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(updates.every((u) => u.total === 6)).toBe(true);
  });

  it('keeps growing through a rollback, without a total, and when transitions were missed', () => {
    const updates = replay([
      { state: 'ml', step: 'ml' },
      { state: 'compensating', step: 'ml' },
      { state: 'rolled_back', step: 'ml' },
    ]);
    expect(updates.map((u) => [u.progress, u.total, u.message])).toEqual([
      [4, 6, 'step 3 of 4: ml'],
      [5, undefined, 'compensating: rolling back the finished steps (stopped at ml)'],
      [6, undefined, 'rolled_back: every finished step was undone'],
    ]);
  });

  it('shows a pipeline state that is not one of its steps (the approval gate) by name', () => {
    const updates = replay([
      { state: 'ml', step: 'ml' },
      { state: 'awaiting_approval', step: 'approve_backtest' },
      { state: 'approve_backtest' },
      { state: 'backtest', step: 'backtest' },
    ]);
    expect(updates.map((u) => [u.progress, u.message])).toEqual([
      [4, 'step 3 of 4: ml'],
      [5, 'awaiting_approval (approve_backtest): waiting for approve_saga or reject_saga'],
      [6, 'approve_backtest'],
      [7, 'step 4 of 4: backtest'],
    ]);
  });

  it("numbers a user saga's own steps in the order seen, and shows other states by name", () => {
    const updates = replay(
      [
        { state: 'reserve', step: 'reserve' },
        { state: 'charge', step: 'charge' },
        { state: 'awaiting_approval', step: 'charge' },
      ],
      'tripSaga',
    );
    expect(updates.map((u) => u.message)).toEqual([
      'step 1: reserve',
      'step 2: charge',
      'awaiting_approval (charge): waiting for approve_saga or reject_saga',
    ]);
    expect(updates.map((u) => u.progress)).toEqual([2, 3, 4]);
  });
});

describe('task status of a saga and of a lane task', () => {
  it('maps saga states as the spec asks', () => {
    expect(taskStatusOf({ state: 'ml', running: true })).toBe('working');
    expect(taskStatusOf({ state: 'compensating', running: true, error: { reason: 'step_failed' } })).toBe(
      'working',
    );
    expect(taskStatusOf({ state: 'compensating', running: true, error: { reason: 'cancelled' } })).toBe(
      'cancelled',
    );
    expect(taskStatusOf({ state: 'ml', running: true, cancelRequested: true })).toBe('cancelled');
    expect(taskStatusOf({ state: 'completed', running: false })).toBe('completed');
    expect(taskStatusOf({ state: 'rolled_back', running: false, error: { reason: 'timeout' } })).toBe(
      'failed',
    );
    expect(taskStatusOf({ state: 'failed', running: false })).toBe('failed');
    expect(taskStatusOf({ state: 'rolled_back', running: false, error: { reason: 'cancelled' } })).toBe(
      'cancelled',
    );
    // Terminated or timed out by Temporal before any transition.
    expect(taskStatusOf({ state: 'pending', running: false })).toBe('failed');
  });

  it('maps the statuses the lane writes (a failed attempt is queued again until dead)', () => {
    expect(['queued', 'running', 'succeeded', 'dead'].map(laneTaskStatusOf)).toEqual([
      'working',
      'working',
      'completed',
      'failed',
    ]);
  });

  it('tells lane task ids from saga ids', () => {
    expect(SagalaneTaskStore.isLaneTaskId('echo:6f0c2a3e-1b2c-4d5e-8f90-123456789abc')).toBe(true);
    expect(SagalaneTaskStore.isLaneTaskId('pipeline-DEMO-6f0c2a3e-1b2c-4d5e-8f90-123456789abc')).toBe(false);
    expect(SagalaneTaskStore.isLaneTaskId('my:saga')).toBe(false);
  });
});

describe('SDK v1 behaviour the bridge relies on', () => {
  it('routes a plain call of a taskSupport "optional" tool through the task store, without params.task', async () => {
    const store = new InMemoryTaskStore();
    const seen: Request[] = [];
    const recording = Object.assign(Object.create(store) as InMemoryTaskStore, {
      createTask: (...args: Parameters<InMemoryTaskStore['createTask']>) => {
        seen.push(args[2]);
        return store.createTask(...args);
      },
    });
    const server = new McpServer(
      { name: 'pin', version: '1' },
      { capabilities: { tasks: { requests: { tools: { call: {} } } } }, taskStore: recording },
    );
    server.experimental.tasks.registerToolTask(
      'double',
      { inputSchema: { n: z.number() }, execution: { taskSupport: 'optional' } },
      {
        createTask: async ({ n }, extra) => {
          const task = await extra.taskStore.createTask({ pollInterval: 10 });
          await extra.taskStore.storeTaskResult(task.taskId, 'completed', {
            content: [{ type: 'text', text: String(n * 2) }],
          });
          return { task };
        },
        getTask: async (_args, extra) => extra.taskStore.getTask(extra.taskId),
        getTaskResult: async (_args, extra) =>
          (await extra.taskStore.getTaskResult(extra.taskId)) as CallToolResult,
      },
    );
    const [a, b] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'pin', version: '1' });
    await Promise.all([server.connect(b), client.connect(a)]);
    try {
      const result = (await client.callTool({ name: 'double', arguments: { n: 21 } })) as CallToolResult;
      expect(result.content).toEqual([{ type: 'text', text: '42' }]);
      expect(seen).toHaveLength(1);
      expect(SagalaneTaskStore.isTaskAugmented(seen[0]!)).toBe(false);
    } finally {
      await client.close();
      store.cleanup();
    }
  });
});

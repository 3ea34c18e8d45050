/**
 * The MCP bridge in process (InMemoryTransport, the SDK's own Client) against the real dev server, the real saga
 * worker with the real agents and the real express worker: what an AI assistant sees and does.
 */
import { createHash } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { SagaClient } from '../../src/client/saga-client';
import { createLogSagaSinks } from '../../src/runtime/saga-worker';
import { createLogger } from '../../src/logger';
import { createMcpServer, READ_TOOLS, WRITE_TOOLS } from '../../src/mcp/server';
import type { PipelineStateView } from '../../src/workflows/research/pipeline-contract';
import { createTestPipelineActivities } from '../fixtures/test-activities';
import { uniqueTaskQueue } from '../helpers/temporal';
import { pollUntil, startFrontStack, type FrontStack } from './front-kit';

async function connect(server: ReturnType<typeof createMcpServer>): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'front-test', version: '1.0.0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return client;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function textOf(result: unknown): string {
  const r = result as CallToolResult;
  return r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

async function callJson<T>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${name} failed: ${textOf(result)}`);
  return JSON.parse(textOf(result)) as T;
}

describe('MCP server in process', () => {
  let stack: FrontStack;
  let client: Client;
  let blockingClient: Client;
  const blockingQueue = uniqueTaskQueue('front-mcp-block');

  beforeAll(async () => {
    stack = await startFrontStack('front-mcp');
    client = await connect(createMcpServer({ sagas: stack.sagas, express: stack.express }));
    // Sagas on this queue stop at `ml` until cancelled, so a cancel always finds one running.
    const { activities } = createTestPipelineActivities({ scenarioFor: () => ({ blockAt: 'ml' }) });
    await stack.ctx.startWorker({
      taskQueue: blockingQueue,
      activities,
      sinks: createLogSagaSinks(createLogger('silent')),
    });
    const blockingSagas = new SagaClient(stack.ctx.client, { taskQueue: blockingQueue });
    blockingClient = await connect(createMcpServer({ sagas: blockingSagas, express: stack.express }));
  });

  afterAll(async () => {
    await client?.close();
    await blockingClient?.close();
    await stack?.stop();
  });

  it('lists every tool with a description and the saga resource template', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...READ_TOOLS, ...WRITE_TOOLS].sort());
    for (const tool of tools) expect(tool.description!.length).toBeGreaterThan(80);
    const start = tools.find((t) => t.name === 'start_pipeline')!;
    expect(start.inputSchema.required).toEqual(expect.arrayContaining(['idea', 'symbol']));
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((r) => r.uriTemplate)).toContain('saga://{sagaId}');
  });

  it('read-only mode registers only the read tools', async () => {
    const readOnly = await connect(
      createMcpServer({ sagas: stack.sagas, express: stack.express, readOnly: true }),
    );
    try {
      const { tools } = await readOnly.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([...READ_TOOLS].sort());
      const refused = (await readOnly.callTool({
        name: 'start_pipeline',
        arguments: { idea: 'trend following', symbol: 'DEMO' },
      })) as CallToolResult;
      expect(refused.isError).toBe(true);
    } finally {
      await readOnly.close();
    }
  });

  it('starts a pipeline and follows it with get_saga to completed, then reads it as a resource and in history', async () => {
    const started = await callJson<{ sagaId: string; runId: string }>(client, 'start_pipeline', {
      idea: 'trend following with moving averages',
      symbol: 'DEMO',
    });
    expect(started.sagaId).toMatch(/^pipeline-DEMO-[0-9a-f-]{36}$/);
    const seen = new Set<string>();
    const final = await pollUntil(
      () => callJson<PipelineStateView>(client, 'get_saga', { sagaId: started.sagaId }),
      (s) => {
        seen.add(s.state);
        return ['completed', 'rolled_back', 'failed'].includes(s.state);
      },
      45_000,
    );
    expect(final.state).toBe('completed');
    expect(final.steps.map((s) => [s.name, s.status])).toEqual([
      ['reasoning', 'completed'],
      ['codegen', 'completed'],
      ['ml', 'completed'],
      ['backtest', 'completed'],
    ]);
    expect(Number.isFinite(final.result!.metrics.sharpe)).toBe(true);

    const resource = await client.readResource({ uri: `saga://${started.sagaId}` });
    const fromResource = JSON.parse((resource.contents[0] as { text: string }).text) as PipelineStateView;
    expect(fromResource.state).toBe('completed');
    expect(fromResource.sagaId).toBe(started.sagaId);

    const firstPage = await callJson<{
      items: { type: string; payloads?: unknown }[];
      nextPageToken?: string;
    }>(client, 'get_saga_history', { sagaId: started.sagaId, pageSize: 5 });
    expect(firstPage.items).toHaveLength(5);
    expect(firstPage.items[0]!.type).toBe('WorkflowExecutionStarted');
    expect(firstPage.items.every((e) => e.payloads === undefined)).toBe(true);
    expect(firstPage.nextPageToken).toBeDefined();
    // Walking the pages yields every event once, in order.
    const ids: number[] = [];
    let token: string | undefined;
    do {
      const page: { items: { eventId: number }[]; nextPageToken?: string } = await callJson(
        client,
        'get_saga_history',
        {
          sagaId: started.sagaId,
          pageSize: 5,
          nextPageToken: token,
        },
      );
      expect(page.items.length).toBeLessThanOrEqual(5);
      ids.push(...page.items.map((e) => e.eventId));
      token = page.nextPageToken;
    } while (token);
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1));
    const withPayloads = await callJson<{
      items: { type: string; activityType?: string; payloads?: Record<string, unknown> }[];
    }>(client, 'get_saga_history', { sagaId: started.sagaId, pageSize: 200, includePayloads: true });
    expect(withPayloads.items.map((e) => e.type).at(-1)).toBe('WorkflowExecutionCompleted');
    expect(withPayloads.items).toHaveLength(ids.length);
    expect(withPayloads.items[0]!.payloads?.input).toEqual({
      idea: 'trend following with moving averages',
      symbol: 'DEMO',
    });
    expect(
      withPayloads.items.filter((e) => e.type === 'ActivityTaskScheduled').map((e) => e.activityType),
    ).toEqual(['reasoning', 'codegen', 'ml', 'backtest']); // as shipped (SAGALANE_AWAITED_STEPS=none): every step an activity
    // Payloads are cut to the bound with a marker (the client's knob; MCP uses the default bound).
    const bounded = await stack.sagas.history(started.sagaId, {
      pageSize: 200,
      includePayloads: true,
      maxPayloadChars: 40,
    });
    const completedEvent = bounded.items.find((e) => e.type === 'WorkflowExecutionCompleted')!;
    expect(completedEvent.payloads!.result).toMatchObject({ truncated: true, preview: expect.any(String) });
    const cut = completedEvent.payloads!.result as { preview: string; totalChars: number };
    expect(cut.preview).toHaveLength(40);
    expect(cut.totalChars).toBeGreaterThan(40);
  });

  it('cancels a running saga, which rolls back', async () => {
    const { sagaId } = await callJson<{ sagaId: string }>(blockingClient, 'start_pipeline', {
      idea: 'cancel me while ml runs',
      symbol: 'CNL',
    });
    await pollUntil(
      () => callJson<PipelineStateView>(blockingClient, 'get_saga', { sagaId }),
      (s) => s.state === 'ml',
    );
    const outcome = await callJson<{ accepted: boolean }>(blockingClient, 'cancel_saga', {
      sagaId,
      reason: 'user changed their mind',
    });
    expect(outcome.accepted).toBe(true);
    const final = await pollUntil(
      () => callJson<PipelineStateView>(blockingClient, 'get_saga', { sagaId }),
      (s) => ['completed', 'rolled_back', 'failed'].includes(s.state),
    );
    expect(final.state).toBe('rolled_back');
    expect(final.error).toMatchObject({ reason: 'cancelled', cancelReason: 'user changed their mind' });

    const again = (await blockingClient.callTool({
      name: 'cancel_saga',
      arguments: { sagaId },
    })) as CallToolResult;
    expect(again.isError).toBe(true);
    expect(textOf(again)).toContain('already finished');
  });

  it('answers bad arguments and unknown ids with isError results and keeps serving', async () => {
    const missingSymbol = (await client.callTool({
      name: 'start_pipeline',
      arguments: { idea: 'no symbol given' },
    })) as CallToolResult;
    expect(missingSymbol.isError).toBe(true);
    expect(textOf(missingSymbol)).toContain('symbol');

    const badSymbol = (await client.callTool({
      name: 'start_pipeline',
      arguments: { idea: 'a fine idea', symbol: 'not a symbol!' },
    })) as CallToolResult;
    expect(badSymbol.isError).toBe(true);
    expect(textOf(badSymbol)).toContain('symbol must be 1-20 letters');

    const unknown = (await client.callTool({
      name: 'get_saga',
      arguments: { sagaId: 'pipeline-NOPE-does-not-exist' },
    })) as CallToolResult;
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toContain('No saga "pipeline-NOPE-does-not-exist"');

    const unknownType = (await client.callTool({
      name: 'submit_task',
      arguments: { type: 'no_such_type', payload: {} },
    })) as CallToolResult;
    expect(unknownType.isError).toBe(true);
    expect(textOf(unknownType)).toContain('Registered types:');

    const unknownTask = (await client.callTool({
      name: 'get_task',
      arguments: { taskId: 'echo:00000000-0000-0000-0000-000000000000' },
    })) as CallToolResult;
    expect(unknownTask.isError).toBe(true);
    expect(textOf(unknownTask)).toContain('No task echo:00000000');

    // The server is still serving.
    const list = await callJson<{ items: unknown[] }>(client, 'list_sagas', { pageSize: 5 });
    expect(Array.isArray(list.items)).toBe(true);
  });

  it('submits an express task, waits for its result, and reports lane stats', async () => {
    const done = await callJson<{ taskId: string; status: string; result: unknown }>(client, 'submit_task', {
      type: 'hash',
      payload: { data: 'abc', rounds: 2 },
      waitMs: 20_000,
    });
    expect(done.status).toBe('succeeded');
    expect(done.result).toEqual({
      digest: sha256(sha256('abc')),
      rounds: 2,
    });
    const got = await callJson<{ status: string }>(client, 'get_task', { taskId: done.taskId });
    expect(got.status).toBe('succeeded');
    const stats = await callJson<{ lanes: { type: string; lane: string; consumers: number }[] }>(
      client,
      'lane_stats',
      { types: ['hash'] },
    );
    expect(stats.lanes.map((l) => l.lane).sort()).toEqual(['express', 'standard']);
    expect(stats.lanes.find((l) => l.lane === 'standard')!.consumers).toBeGreaterThanOrEqual(1);
  });
});

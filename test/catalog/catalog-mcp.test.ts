/**
 * A catalog saga through the MCP bridge: `start_<type>` is generated from its declaration (input schema from zod,
 * its description), starts and waits for the saga on the real dev server with its steps on the lane, refuses bad
 * input naming the field, and is absent from a read-only server; list_sagas filters by the type.
 */
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type Redis from 'ioredis';
import { SagaClient } from '../../src/client/saga-client';
import { DEFAULT_TASK_SCHEMAS } from '../../src/client/front-door';
import { loadConfig } from '../../src/config';
import { ExpressClient } from '../../src/lane/express-client';
import { createLogger } from '../../src/logger';
import { createMcpServer } from '../../src/mcp/server';
import { startExpressWorker, type RunningExpressWorker } from '../../src/runtime/express-worker';
import { startSagaWorker, type SagaWorkerHandle } from '../../src/runtime/saga-worker';
import type { SagaStateView } from '../../src/workflows/saga-contract';
import { catalog, ticketKeys, ticketStepHandlers } from '../fixtures/ticket-saga/sagas';
import type { TicketResult } from '../fixtures/ticket-saga/steps';
import { connectInProcess, OutputSchemaChecker, textOf } from '../front/mcp-kit';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  type TemporalTestContext,
} from '../helpers/temporal';

jest.setTimeout(180_000);

describe('catalog sagas over MCP', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  let sagaWorker: SagaWorkerHandle;
  let laneWorker: RunningExpressWorker;
  let sagas: SagaClient;
  let express: ExpressClient;
  let mcp: McpClient;
  let readOnly: McpClient;
  const prefix = uniquePrefix('catalog-mcp');
  const taskQueue = uniqueTaskQueue('catalog-mcp');
  const config = loadConfig({
    REDIS_URL: redisUrl(),
    SAGALANE_KEY_PREFIX: prefix,
    TEMPORAL_ADDRESS: temporalAddress(),
    SAGALANE_TASK_QUEUE: taskQueue,
  });

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
    sagaWorker = await startSagaWorker({ config, catalog, taskQueue, logger: createLogger('silent') });
    laneWorker = await startExpressWorker({
      config,
      catalog,
      stepHandlers: ticketStepHandlers({ redis, prefix }),
      logger: createLogger('silent'),
    });
    sagas = new SagaClient(ctx.client, { taskQueue, catalog });
    express = new ExpressClient({ types: DEFAULT_TASK_SCHEMAS, redisUrl: redisUrl(), keyPrefix: prefix });
    mcp = await connectInProcess(createMcpServer({ sagas, express, catalog }), 'catalog-mcp');
    readOnly = await connectInProcess(
      createMcpServer({ sagas, express, catalog, readOnly: true }),
      'catalog-mcp-ro',
    );
  });

  afterAll(async () => {
    await mcp?.close();
    await readOnly?.close();
    await express?.close();
    await laneWorker?.stop();
    await sagaWorker?.stop();
    await ctx?.closeAll();
    await deleteKeys(redis, prefix);
    redis?.disconnect();
  });

  it('lists start_support_ticket with the declaration’s description and input schema', async () => {
    const { tools } = await mcp.listTools();
    const tool = tools.find((t) => t.name === 'start_support_ticket');
    expect(tool?.description).toContain('Triage a support ticket');
    expect(tool?.inputSchema).toMatchObject({
      type: 'object',
      properties: { ticketId: expect.any(Object), customer: expect.any(Object), wait: expect.any(Object) },
      required: ['ticketId', 'customer', 'subject', 'body'],
    });
    // The built-in pipeline keeps start_pipeline (not in this catalog: not listed here).
    expect(tools.map((t) => t.name)).not.toContain('start_research_pipeline');
    const readOnlyTools = (await readOnly.listTools()).tools.map((t) => t.name);
    expect(readOnlyTools).not.toContain('start_support_ticket');
    expect(readOnlyTools).toContain('get_saga');
  });

  it('starts the saga and waits for its result; its steps ran on the lane', async () => {
    const { tools } = await mcp.listTools();
    const result = (await mcp.callTool({
      name: 'start_support_ticket',
      arguments: {
        ticketId: 't-mcp-1',
        customer: 'Grace',
        subject: 'Login error',
        body: 'I get an error at login.',
        wait: true,
      },
    })) as CallToolResult;
    expect(result.isError ?? false).toBe(false);
    new OutputSchemaChecker(tools).check('start_support_ticket', result);
    const state = JSON.parse(textOf(result)) as SagaStateView<TicketResult, string>;
    expect(state).toMatchObject({ workflowType: 'supportTicket', state: 'completed' });
    expect(state.result?.category).toBe('technical');
    expect(state.steps.every((s) => typeof s.taskId === 'string')).toBe(true);
    expect(await redis.lrange(ticketKeys(prefix).outbox, 0, -1)).toContainEqual(
      expect.stringContaining('"t-mcp-1"'),
    );
    const listed = JSON.parse(
      textOf(await mcp.callTool({ name: 'list_sagas', arguments: { type: 'supportTicket', pageSize: 50 } })),
    ) as { items: { sagaId: string; workflowType: string }[] };
    expect(listed.items.map((i) => i.sagaId)).toContain(state.sagaId);
  });

  it('lists the catalog as a resource, and the catalog’s sagas as saga:// resources', async () => {
    const { resources } = await mcp.listResources();
    expect(resources.map((r) => r.uri)).toContain('sagalane://catalog');
    const read = await mcp.readResource({ uri: 'sagalane://catalog' });
    const described = JSON.parse((read.contents[0] as { text: string }).text) as {
      type: string;
      tool: string;
    }[];
    expect(described).toEqual([
      expect.objectContaining({ type: 'supportTicket', tool: 'start_support_ticket' }),
    ]);
    // The ticket sagas started above are listed (the default list would show research pipelines only).
    expect(resources.some((r) => r.uri.startsWith('saga://ticket-'))).toBe(true);
  });

  it('refuses bad input with the field and the rule, starting nothing', async () => {
    const result = (await mcp.callTool({
      name: 'start_support_ticket',
      arguments: { ticketId: 'no spaces allowed', customer: 'x', subject: 'x', body: 'x' },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/ticketId/);
  });
});

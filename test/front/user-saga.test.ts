/**
 * The front doors on a saga of the user's own (test/fixtures/test-workflows.ts `fixtureTripSaga`, built with the
 * `Saga` helper, returning an array): MCP `get_saga` and `sagalane saga get` read it once it finished, without
 * assuming the research pipeline's result shape. Real dev server, a worker with the test bundle on this file's queue.
 */
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { DEFAULT_TASK_SCHEMAS } from '../../src/client/front-door';
import { SagaClient } from '../../src/client/saga-client';
import { ExpressClient } from '../../src/lane/express-client';
import { createLogger } from '../../src/logger';
import { createLogSagaSinks } from '../../src/runtime/saga-worker';
import { createMcpServer } from '../../src/mcp/server';
import type { SagaStateView } from '../../src/workflows/saga-contract';
import { createTripActivities } from '../fixtures/test-activities';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  type TemporalTestContext,
} from '../helpers/temporal';
import { redisUrl, uniquePrefix } from '../helpers/redis';
import { runSagalane } from './front-kit';
import { connectInProcess, OutputSchemaChecker, textOf } from './mcp-kit';

jest.setTimeout(180_000);

describe("a user's own saga through the front doors", () => {
  let ctx: TemporalTestContext;
  let sagas: SagaClient;
  let express: ExpressClient;
  let mcp: McpClient;
  const taskQueue = uniqueTaskQueue('front-user-saga');
  const sagaId = `user-trip-${Date.now()}`;

  beforeAll(async () => {
    ctx = await temporalTestContext();
    await ctx.startWorker({
      taskQueue,
      activities: createTripActivities([]),
      sinks: createLogSagaSinks(createLogger('silent')),
    });
    const handle = await ctx.client.workflow.start('fixtureTripSaga', {
      taskQueue,
      workflowId: sagaId,
      args: [{}],
    });
    expect(await handle.result()).toEqual(['hotel-booking', 'flight-booking']);
    sagas = new SagaClient(ctx.client, { taskQueue });
    // The MCP server needs both backends; this file reads sagas only.
    express = new ExpressClient({
      types: DEFAULT_TASK_SCHEMAS,
      redisUrl: redisUrl(),
      keyPrefix: uniquePrefix('front-user-saga'),
    });
    mcp = await connectInProcess(createMcpServer({ sagas, express }), 'front-user-saga');
  });
  afterAll(async () => {
    await mcp?.close();
    await express?.close();
    await ctx?.closeAll();
  });

  it('MCP get_saga returns its array result as valid structured output', async () => {
    const { tools } = await mcp.listTools();
    const result = (await mcp.callTool({ name: 'get_saga', arguments: { sagaId } })) as CallToolResult;
    expect(result.isError ?? false).toBe(false);
    new OutputSchemaChecker(tools).check('get_saga', result);
    const state = JSON.parse(textOf(result)) as SagaStateView<unknown, string>;
    expect(state).toMatchObject({ sagaId, workflowType: 'fixtureTripSaga', state: 'completed' });
    expect(state.result).toEqual(['hotel-booking', 'flight-booking']);
  });

  it('sagalane saga get prints its steps and its result, as text and as JSON', async () => {
    const env = { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), SAGALANE_TASK_QUEUE: taskQueue };
    const text = await runSagalane(env, ['saga', 'get', sagaId]);
    expect(text.stderr).not.toContain('sagalane:');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Saga ${sagaId} (fixtureTripSaga,`);
    expect(text.stdout).toContain('state: completed');
    expect(text.stdout).toMatch(/step book-flight\s+completed/);
    expect(text.stdout).toContain('result: ["hotel-booking","flight-booking"]');
    expect(text.stdout).not.toContain('plan:');

    const json = await runSagalane(env, ['saga', 'get', sagaId, '--json']);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as SagaStateView<unknown, string>).result).toEqual([
      'hotel-booking',
      'flight-booking',
    ]);
  });
});

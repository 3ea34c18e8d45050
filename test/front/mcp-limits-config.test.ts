/**
 * The MCP limits (#25 finding 7) reach the endpoint from the environment: the HTTP component that `sagalane dev` and
 * `sagalane mcp --http` run passes SAGALANE_MCP_TOKENS, SAGALANE_MCP_MAX_SESSIONS_PER_TOKEN,
 * SAGALANE_MCP_MAX_SUBSCRIPTIONS, SAGALANE_MCP_MAX_SUBSCRIPTIONS_PER_TOKEN and SAGALANE_MCP_TASK_RESULT_WAIT_MS to
 * startMcpHttpServer and createMcpServer; `sagalane mcp` on stdio passes the two that apply to it
 * (SAGALANE_MCP_MAX_SUBSCRIPTIONS, SAGALANE_MCP_TASK_RESULT_WAIT_MS) to createMcpServer. Against the real dev server and Redis; sagas start on a task queue no
 * worker polls, so they stay running.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { SagaClient } from '../../src/client/saga-client';
import { loadConfig } from '../../src/config';
import { mcpHttpComponent } from '../../src/mcp/http-component';
import { createMetrics } from '../../src/observability';
import type { RunningComponent } from '../../src/runtime/stack';
import { redisUrl, uniquePrefix } from '../helpers/redis';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  type TemporalTestContext,
} from '../helpers/temporal';
import { stdioMcpClient } from './mcp-processes';

const TOKEN_A = 'token-of-team-a-0123456789abcdef';
const TOKEN_B = 'token-of-team-b-0123456789abcdef';

describe('MCP limits from the environment (mcpHttpComponent)', () => {
  let ctx: TemporalTestContext;
  let running: RunningComponent | undefined;
  let url: string;
  const sagaIds: string[] = [];
  const clients: { client: Client; transport: StreamableHTTPClientTransport }[] = [];

  beforeAll(async () => {
    ctx = await temporalTestContext();
    const taskQueue = uniqueTaskQueue('mcp-limits-config');
    const sagas = new SagaClient(ctx.client, { taskQueue });
    for (let i = 0; i < 3; i++)
      sagaIds.push((await sagas.startPipeline({ idea: `limits config ${i}`, symbol: 'DEMO' })).sagaId);
    const config = loadConfig({
      TEMPORAL_ADDRESS: temporalAddress(),
      SAGALANE_TASK_QUEUE: taskQueue,
      REDIS_URL: redisUrl(),
      SAGALANE_KEY_PREFIX: uniquePrefix('mcp-limits-config'),
      SAGALANE_LOG_LEVEL: 'silent',
      SAGALANE_MCP_PORT: '0',
      SAGALANE_MCP_TOKENS: `${TOKEN_A},${TOKEN_B}`,
      SAGALANE_MCP_MAX_SESSIONS_PER_TOKEN: '2',
      SAGALANE_MCP_MAX_SUBSCRIPTIONS: '1',
      SAGALANE_MCP_MAX_SUBSCRIPTIONS_PER_TOKEN: '1',
      SAGALANE_MCP_TASK_RESULT_WAIT_MS: '1000',
    });
    running = await mcpHttpComponent().start({
      config,
      temporalAddress: temporalAddress(),
      metrics: createMetrics({ defaultMetrics: false }),
      log: () => undefined,
    });
    url = running.endpoints!['MCP (HTTP)']!;
  });

  afterAll(async () => {
    for (const { client, transport } of clients) {
      await transport.terminateSession().catch(() => undefined);
      await client.close().catch(() => undefined);
    }
    await running?.stop();
    await Promise.allSettled(
      sagaIds.map((id) => ctx.client.workflow.getHandle(id).terminate('mcp-limits-config test done')),
    );
    await ctx.closeAll();
  });

  const connect = async (token: string) => {
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'limits-config-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push({ client, transport });
    return client;
  };

  /** `promise`'s rejection, or an Error saying it was accepted or still waits after 15 s (the default wait is 5 min). */
  const refusal = (promise: Promise<unknown>) =>
    Promise.race([
      promise.then(
        () => new Error('the request was accepted'),
        (e: unknown) => e,
      ),
      new Promise((resolve) =>
        setTimeout(() => resolve(new Error('still waiting after 15 s')), 15_000).unref(),
      ),
    ]);

  const expectStillWorking = async (waiting: Promise<unknown>) => {
    const t0 = Date.now();
    const err = await refusal(waiting);
    const waited = Date.now() - t0;
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).code).toBe(-32001);
    expect((err as McpError).message).toMatch(/still working .* after 1 s.*call tasks\/result again/);
    expect(waited).toBeGreaterThanOrEqual(900);
  };

  it('SAGALANE_MCP_MAX_SUBSCRIPTIONS, _MAX_SUBSCRIPTIONS_PER_TOKEN, _TOKENS and _MAX_SESSIONS_PER_TOKEN', async () => {
    const a1 = await connect(TOKEN_A);
    await a1.subscribeResource({ uri: `saga://${sagaIds[0]}` });
    const perSession = await refusal(a1.subscribeResource({ uri: `saga://${sagaIds[1]}` }));
    expect(perSession).toBeInstanceOf(McpError);
    expect((perSession as McpError).message).toMatch(/Too many resource subscriptions on this session \(1,/);

    // A second session of the same token: its own session cap is free, the token's is not.
    const a2 = await connect(TOKEN_A);
    const perToken = await refusal(a2.subscribeResource({ uri: `saga://${sagaIds[1]}` }));
    expect((perToken as McpError).message).toMatch(
      /Too many resource subscriptions for this bearer token across its sessions \(1,/,
    );

    // A third session of token a is over its cap of 2; token b (the other SAGALANE_MCP_TOKENS item) has its own.
    const a3 = await refusal(connect(TOKEN_A));
    expect(String(a3)).toMatch(/Too many open MCP sessions for this bearer token \(2, the limit per token\)/);
    const b1 = await connect(TOKEN_B);
    await b1.subscribeResource({ uri: `saga://${sagaIds[1]}` });
  });

  it('SAGALANE_MCP_TASK_RESULT_WAIT_MS bounds tasks/result', async () => {
    const b = await connect(TOKEN_B);
    await expectStillWorking(b.experimental.tasks.getTaskResult(sagaIds[2]!, CallToolResultSchema));
  });

  it('sagalane mcp on stdio: SAGALANE_MCP_MAX_SUBSCRIPTIONS and SAGALANE_MCP_TASK_RESULT_WAIT_MS', async () => {
    const client = await stdioMcpClient({
      ...process.env,
      TEMPORAL_ADDRESS: temporalAddress(),
      REDIS_URL: redisUrl(),
      SAGALANE_KEY_PREFIX: uniquePrefix('mcp-limits-config-stdio'),
      SAGALANE_LOG_LEVEL: 'silent',
      SAGALANE_MCP_MAX_SUBSCRIPTIONS: '1',
      SAGALANE_MCP_TASK_RESULT_WAIT_MS: '1000',
    });
    try {
      await client.subscribeResource({ uri: `saga://${sagaIds[0]}` });
      const refused = await refusal(client.subscribeResource({ uri: `saga://${sagaIds[1]}` }));
      expect((refused as McpError).message).toMatch(/Too many resource subscriptions on this session \(1,/);
      await expectStillWorking(client.experimental.tasks.getTaskResult(sagaIds[2]!, CallToolResultSchema));
    } finally {
      await client.close();
    }
  });
});

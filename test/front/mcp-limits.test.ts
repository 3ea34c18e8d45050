/**
 * The MCP front door's limits (#25 finding 7), over the real Streamable HTTP endpoint against the real dev server and
 * Redis:
 * - `tasks/result` waits at most `taskResultWaitMs`, then answers -32001 "still running, call again"; it stops
 *   waiting when the client drops the connection or ends its session (no lane waiter or Temporal long poll is left);
 * - a session with an open stream still expires when idle;
 * - sessions are capped per bearer token, and a session is usable only with the token that opened it;
 * - resource subscriptions are capped per session and per token.
 * Sagas here are started on a task queue no worker polls, so they stay running (pending) for as long as a test needs;
 * lane tasks are submitted to a prefix no worker reads, so they stay queued.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { SagaClient } from '../../src/client/saga-client';
import { DEFAULT_TASK_SCHEMAS } from '../../src/client/front-door';
import { ExpressClient } from '../../src/lane/express-client';
import { createLogger } from '../../src/logger';
import { startMcpHttpServer, type McpHttpServerOptions } from '../../src/mcp/http-server';
import { createMcpServer, type CreateMcpServerOptions } from '../../src/mcp/server';
import { redisUrl, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import { pollUntil } from './front-kit';

const PROTOCOL = '2025-06-18';

describe('MCP limits over HTTP', () => {
  let ctx: TemporalTestContext;
  let sagas: SagaClient;
  let express: ExpressClient;
  const sagaIds: string[] = [];

  beforeAll(async () => {
    ctx = await temporalTestContext();
    sagas = new SagaClient(ctx.client, { taskQueue: uniqueTaskQueue('mcp-limits') });
    express = new ExpressClient({
      types: DEFAULT_TASK_SCHEMAS,
      redisUrl: redisUrl(),
      keyPrefix: uniquePrefix('mcp-limits'),
    });
    for (let i = 0; i < 4; i++)
      sagaIds.push((await sagas.startPipeline({ idea: `limits test ${i}`, symbol: 'DEMO' })).sagaId);
  });
  afterAll(async () => {
    await Promise.allSettled(
      sagaIds.map((id) => ctx.client.workflow.getHandle(id).terminate('mcp-limits test done')),
    );
    await express.close();
    await ctx.closeAll();
  });

  const start = (http: Partial<McpHttpServerOptions> = {}, mcp: Partial<CreateMcpServerOptions> = {}) =>
    startMcpHttpServer({
      createServer: (session) =>
        createMcpServer({ sagas, express, subscriptionBudget: session?.subscriptionBudget, ...mcp }),
      port: 0,
      logger: createLogger('silent'),
      ...http,
    });

  const post = (url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) =>
    fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': PROTOCOL,
        ...headers,
      },
      body: JSON.stringify(body),
      signal,
    });

  const initialize = async (url: string, headers: Record<string, string> = {}) => {
    const res = await post(
      url,
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      },
      headers,
    );
    await res.text();
    return { status: res.status, sessionId: res.headers.get('mcp-session-id') ?? undefined };
  };

  const connect = async (url: string, token?: string) => {
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : undefined,
    });
    const client = new Client({ name: 'limits-test', version: '1.0.0' });
    await client.connect(transport);
    return { client, transport };
  };

  /** The lane client's waiters for a task: a wait still registered means someone still waits for it. */
  const lanesWaitingFor = (taskId: string) =>
    (express as unknown as { waiters: Map<string, Set<unknown>> }).waiters.get(taskId)?.size ?? 0;

  /** Fails if `promise` has not settled within `ms` (the old code waited about 2^31 ms). */
  const within = <T>(promise: Promise<T>, ms: number): Promise<T> =>
    Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms).unref(),
      ),
    ]);

  it('tasks/result answers -32001 "still running, call again" once its wait bound passes (saga and lane task)', async () => {
    const server = await start({}, { taskResultWaitMs: 1500 });
    const { client, transport } = await connect(server.url);
    try {
      const sagaId = sagaIds[0]!;
      const t0 = Date.now();
      const err = await within(
        client.experimental.tasks.getTaskResult(sagaId, CallToolResultSchema).then(
          () => new Error('tasks/result answered a result for a running saga'),
          (e: unknown) => e,
        ),
        15_000,
      );
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
      expect(err).toBeInstanceOf(McpError);
      expect((err as McpError).code).toBe(-32001);
      expect((err as McpError).message).toMatch(
        new RegExp(`Task ${sagaId} is still working .* after 1\\.5 s.*call tasks/result again`),
      );
      expect((err as McpError).data).toMatchObject({ taskId: sagaId, status: 'working' });

      const { taskId } = await express.submit({
        type: 'echo',
        payload: { message: 'nobody reads this lane' },
      });
      const laneErr = await within(
        client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema).then(
          () => new Error('tasks/result answered a result for a queued task'),
          (e: unknown) => e,
        ),
        15_000,
      );
      expect((laneErr as McpError).code).toBe(-32001);
      expect((laneErr as McpError).message).toMatch(/is still working \(queued\).*call tasks\/result again/);
      // The wait left nothing behind.
      await pollUntil(
        async () => lanesWaitingFor(taskId),
        (n) => n === 0,
        5000,
        100,
      );
    } finally {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
      await server.close();
    }
  });

  it('tasks/result stops waiting when the client drops the connection, and when its session ends', async () => {
    const server = await start();
    try {
      const { sessionId } = await initialize(server.url);
      const headers = { 'mcp-session-id': sessionId! };
      // Dropped connection.
      const dropped = await express.submit({ type: 'echo', payload: { message: 'dropped' } });
      const abort = new AbortController();
      const pending = post(
        server.url,
        { jsonrpc: '2.0', id: 7, method: 'tasks/result', params: { taskId: dropped.taskId } },
        headers,
        abort.signal,
      ).then((res) => res.text());
      pending.catch(() => undefined);
      await pollUntil(
        async () => lanesWaitingFor(dropped.taskId),
        (n) => n > 0,
        10_000,
        50,
      );
      abort.abort();
      await pollUntil(
        async () => lanesWaitingFor(dropped.taskId),
        (n) => n === 0,
        5000,
        100,
      );
      // The session is still there and answers.
      const ping = await post(server.url, { jsonrpc: '2.0', id: 8, method: 'ping' }, headers);
      expect(ping.status).toBe(200);
      await ping.text();

      // Session ended (DELETE) while a tasks/result waits.
      const orphaned = await express.submit({ type: 'echo', payload: { message: 'orphaned' } });
      const waiting = post(
        server.url,
        { jsonrpc: '2.0', id: 9, method: 'tasks/result', params: { taskId: orphaned.taskId } },
        headers,
      ).then((res) => res.text());
      waiting.catch(() => undefined);
      await pollUntil(
        async () => lanesWaitingFor(orphaned.taskId),
        (n) => n > 0,
        10_000,
        50,
      );
      const ended = await fetch(server.url, {
        method: 'DELETE',
        headers: { ...headers, 'mcp-protocol-version': PROTOCOL },
      });
      expect(ended.status).toBe(200);
      await pollUntil(
        async () => lanesWaitingFor(orphaned.taskId),
        (n) => n === 0,
        5000,
        100,
      );
    } finally {
      await server.close();
    }
  });

  it('SagaClient.result stops waiting when its signal fires', async () => {
    const abort = new AbortController();
    const waiting = sagas.result(sagaIds[0]!, { signal: abort.signal });
    setTimeout(() => abort.abort(), 300);
    await expect(within(waiting, 10_000)).rejects.not.toThrow(/still waiting/);
  });

  it('closes an idle session even while its GET stream is open', async () => {
    const server = await start({ sessionIdleMs: 1000 });
    try {
      const { sessionId } = await initialize(server.url);
      const stream = await fetch(server.url, {
        headers: {
          accept: 'text/event-stream',
          'mcp-session-id': sessionId!,
          'mcp-protocol-version': PROTOCOL,
        },
      });
      expect(stream.status).toBe(200);
      const body = stream.text().catch(() => '');
      expect(server.sessionCount()).toBe(1);
      const t0 = Date.now();
      await pollUntil(
        async () => server.sessionCount(),
        (n) => n === 0,
        10_000,
        100,
      );
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      await within(body, 5000); // the stream was ended with its session
      const late = await post(
        server.url,
        { jsonrpc: '2.0', id: 2, method: 'ping' },
        { 'mcp-session-id': sessionId! },
      );
      expect(late.status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('caps sessions per bearer token; a session answers only the token that opened it', async () => {
    const a = { authorization: 'Bearer token-of-team-a-0123456789abcdef' };
    const b = { authorization: 'Bearer token-of-team-b-0123456789abcdef' };
    const server = await start({
      tokens: [a.authorization.slice(7), b.authorization.slice(7)],
      maxSessions: 4,
    });
    try {
      // 4 sessions shared by 2 tokens: 2 each by default.
      const first = await initialize(server.url, a);
      expect(first.status).toBe(200);
      expect((await initialize(server.url, a)).status).toBe(200);
      const over = await post(
        server.url,
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
        },
        a,
      );
      expect(over.status).toBe(503);
      const body = (await over.json()) as { error: { code: number; message: string } };
      expect(body.error.code).toBe(-32000);
      expect(body.error.message).toMatch(
        /Too many open MCP sessions for this bearer token \(2, the limit per token\)/,
      );
      expect((await initialize(server.url, b)).status).toBe(200);
      expect(server.sessionCount()).toBe(3);
      // Team b cannot use team a's session.
      const stolen = await post(
        server.url,
        { jsonrpc: '2.0', id: 2, method: 'ping' },
        { ...b, 'mcp-session-id': first.sessionId! },
      );
      expect(stolen.status).toBe(404);
      const own = await post(
        server.url,
        { jsonrpc: '2.0', id: 2, method: 'ping' },
        { ...a, 'mcp-session-id': first.sessionId! },
      );
      expect(own.status).toBe(200);
      await own.text();
    } finally {
      await server.close();
    }
  });

  it('caps resource subscriptions per session', async () => {
    const server = await start({}, { maxSubscriptions: 2 });
    const { client, transport } = await connect(server.url);
    try {
      await client.subscribeResource({ uri: `saga://${sagaIds[0]}` });
      await client.subscribeResource({ uri: `saga://${sagaIds[1]}` });
      // The same URI again is no new subscription.
      await client.subscribeResource({ uri: `saga://${sagaIds[1]}` });
      const refused = await client
        .subscribeResource({ uri: `saga://${sagaIds[2]}` })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(McpError);
      expect((refused as McpError).code).toBe(-32000);
      expect((refused as McpError).message).toMatch(
        /Too many resource subscriptions on this session \(2, the limit\).*resources\/unsubscribe/,
      );
      await client.unsubscribeResource({ uri: `saga://${sagaIds[0]}` });
      await client.subscribeResource({ uri: `saga://${sagaIds[2]}` });
    } finally {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
      await server.close();
    }
  });

  it('caps resource subscriptions per token across its sessions; an ended session gives its places back', async () => {
    const server = await start({ maxSubscriptionsPerToken: 3 });
    const one = await connect(server.url);
    const two = await connect(server.url);
    try {
      await one.client.subscribeResource({ uri: `saga://${sagaIds[0]}` });
      await one.client.subscribeResource({ uri: `saga://${sagaIds[1]}` });
      await two.client.subscribeResource({ uri: `saga://${sagaIds[2]}` });
      const refused = await two.client
        .subscribeResource({ uri: `saga://${sagaIds[3]}` })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(McpError);
      expect((refused as McpError).message).toMatch(
        /Too many resource subscriptions for this bearer token across its sessions \(3, the limit\)/,
      );
      await one.transport.terminateSession();
      await two.client.subscribeResource({ uri: `saga://${sagaIds[3]}` });
      await two.client.subscribeResource({ uri: `saga://${sagaIds[0]}` });
    } finally {
      await two.transport.terminateSession().catch(() => undefined);
      await Promise.allSettled([one.client.close(), two.client.close()]);
      await server.close();
    }
  });
});

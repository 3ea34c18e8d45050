/**
 * The MCP HTTP endpoint's request checks (Host, Origin, bearer token) as a pure function, and its session handling
 * in process: sessions open on initialize, unknown ids get 404, DELETE ends a session, and an exposed bind without a
 * token is refused (127.corp.example included: loopback is decided by address, not by name prefix).
 */
import { SagaClient } from '../../src/client/saga-client';
import { DEFAULT_TASK_SCHEMAS } from '../../src/client/front-door';
import { ExpressClient } from '../../src/lane/express-client';
import { createLogger } from '../../src/logger';
import { McpHttpServerError, startMcpHttpServer } from '../../src/mcp/http-server';
import { createHolderOf, createRequestGuard } from '../../src/mcp/request-guard';
import { createMcpServer } from '../../src/mcp/server';
import { serveMcpOverStdio } from '../../src/mcp/stdio';
import { PassThrough } from 'node:stream';
import { redisUrl, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, type TemporalTestContext } from '../helpers/temporal';
import { pollUntil, runSagalane } from './front-kit';

describe('MCP HTTP request guard', () => {
  const guard = createRequestGuard({
    port: 7300,
    token: 's3cret',
    allowedHosts: ['mcp.example.com', 'gateway.example.com:8443'],
    allowedOrigins: ['https://assistant.example.com/'],
  });
  const auth = { authorization: 'Bearer s3cret' };

  it('accepts loopback names with the port and the listed hosts', () => {
    for (const host of [
      '127.0.0.1:7300',
      'localhost:7300',
      '[::1]:7300',
      'LOCALHOST:7300',
      'mcp.example.com',
      'mcp.example.com:1234',
      'gateway.example.com:8443',
    ])
      expect(guard({ host, ...auth })).toEqual({ ok: true });
  });

  it('rejects other Host values with 421, including loopback on another port', () => {
    for (const host of ['127.0.0.1:7301', 'evil.example:7300', 'gateway.example.com:9999', '', 'localhost'])
      expect(guard({ host, ...auth })).toMatchObject({ ok: false, status: 421 });
  });

  it('checks Origin only when present', () => {
    expect(guard({ host: 'localhost:7300', origin: 'http://localhost:7300', ...auth })).toEqual({ ok: true });
    expect(guard({ host: 'localhost:7300', origin: 'https://assistant.example.com', ...auth })).toEqual({
      ok: true,
    });
    expect(guard({ host: 'localhost:7300', origin: 'https://evil.example', ...auth })).toMatchObject({
      status: 403,
    });
    expect(guard({ host: 'localhost:7300', origin: 'null', ...auth })).toMatchObject({ status: 403 });
  });

  it('requires the exact bearer token when one is set, with a WWW-Authenticate challenge', () => {
    const host = 'localhost:7300';
    expect(guard({ host })).toMatchObject({
      status: 401,
      headers: { 'www-authenticate': expect.stringMatching(/^Bearer/) },
    });
    expect(guard({ host, authorization: 'Bearer s3cre' })).toMatchObject({ status: 401 });
    expect(guard({ host, authorization: 'Bearer s3cret-and-more' })).toMatchObject({ status: 401 });
    expect(guard({ host, authorization: 'Basic s3cret' })).toMatchObject({ status: 401 });
    expect(guard({ host, authorization: 'bearer s3cret' })).toEqual({ ok: true });
    expect(createRequestGuard({ port: 1 })({ host: 'localhost:1' })).toEqual({ ok: true });
  });

  it('accepts any of several tokens, and tells their holders apart for the per-token caps', () => {
    const options = { port: 7300, token: 'first-token-0123456789', tokens: ['second-token-0123456789'] };
    const several = createRequestGuard(options);
    const host = 'localhost:7300';
    expect(several({ host, authorization: 'Bearer first-token-0123456789' })).toEqual({ ok: true });
    expect(several({ host, authorization: 'Bearer second-token-0123456789' })).toEqual({ ok: true });
    expect(several({ host, authorization: 'Bearer third-token-0123456789' })).toMatchObject({ status: 401 });
    const holderOf = createHolderOf(options);
    expect(holderOf({ authorization: 'Bearer first-token-0123456789' })).toBe('token:0');
    expect(holderOf({ authorization: 'Bearer second-token-0123456789' })).toBe('token:1');
    expect(createHolderOf({})({})).toBe('anonymous');
  });
});

describe('MCP HTTP sessions', () => {
  let ctx: TemporalTestContext;
  let express: ExpressClient;
  beforeAll(async () => {
    ctx = await temporalTestContext();
    express = new ExpressClient({
      types: DEFAULT_TASK_SCHEMAS,
      redisUrl: redisUrl(),
      keyPrefix: uniquePrefix('front-http'),
    });
  });
  afterAll(async () => {
    await express.close();
    await ctx.closeAll();
  });

  const start = (
    extra: {
      host?: string;
      token?: string;
      maxBodyBytes?: number;
      maxSessions?: number;
      sessionIdleMs?: number;
    } = {},
  ) =>
    startMcpHttpServer({
      createServer: () => createMcpServer({ sagas: new SagaClient(ctx.client), express, readOnly: true }),
      port: 0,
      logger: createLogger('silent'),
      ...extra,
    });

  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify(body),
    });

  it('opens a session on initialize, 404s unknown sessions, ends one on DELETE', async () => {
    const server = await start();
    try {
      const init = await post(server.url, {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      });
      expect(init.status).toBe(200);
      const sessionId = init.headers.get('mcp-session-id')!;
      expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
      await init.text();
      expect(server.sessionCount()).toBe(1);

      const noSession = await post(server.url, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
      expect(noSession.status).toBe(400);
      const unknown = await post(
        server.url,
        { jsonrpc: '2.0', id: 2, method: 'tools/list' },
        { 'mcp-session-id': 'nope' },
      );
      expect(unknown.status).toBe(404);
      const notFound = await fetch(server.url.replace('/mcp', '/other'));
      expect(notFound.status).toBe(404);

      const ended = await fetch(server.url, {
        method: 'DELETE',
        headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
      });
      expect(ended.status).toBe(200);
      expect(server.sessionCount()).toBe(0);
    } finally {
      await server.close();
    }
  });

  const initialize = (url: string) =>
    post(url, {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });

  it('caps open sessions with a clear JSON-RPC error, and a DELETE frees a place', async () => {
    const server = await start({ maxSessions: 2 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const init = await initialize(server.url);
        expect(init.status).toBe(200);
        ids.push(init.headers.get('mcp-session-id')!);
        await init.text();
      }
      const over = await initialize(server.url);
      expect(over.status).toBe(503);
      const body = (await over.json()) as {
        jsonrpc: string;
        id: null;
        error: { code: number; message: string };
      };
      expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
      expect(body.error.message).toContain(
        'Too many open MCP sessions (2, the limit; SAGALANE_MCP_MAX_SESSIONS)',
      );
      expect(body.error.message).toContain('DELETE /mcp');
      expect(server.sessionCount()).toBe(2);
      const ended = await fetch(server.url, {
        method: 'DELETE',
        headers: { 'mcp-session-id': ids[0]!, 'mcp-protocol-version': '2025-06-18' },
      });
      expect(ended.status).toBe(200);
      const again = await initialize(server.url);
      expect(again.status).toBe(200);
      await again.text();
      expect(server.sessionCount()).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('closes a session idle for sessionIdleMs; its id is then unknown (404)', async () => {
    const server = await start({ sessionIdleMs: 1000 });
    try {
      const init = await initialize(server.url);
      const id = init.headers.get('mcp-session-id')!;
      await init.text();
      expect(server.sessionCount()).toBe(1);
      const t0 = Date.now();
      await pollUntil(
        async () => server.sessionCount(),
        (n) => n === 0,
        10_000,
        100,
      );
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      const late = await post(
        server.url,
        { jsonrpc: '2.0', id: 2, method: 'tools/list' },
        { 'mcp-session-id': id },
      );
      expect(late.status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('refuses an oversized body with 413 and closes that connection, so the next request is not reset', async () => {
    const server = await start({ maxBodyBytes: 64 * 1024 });
    try {
      const big = await post(server.url, {
        jsonrpc: '2.0',
        id: 1,
        method: 'ping',
        params: { x: 'y'.repeat(200_000) },
      });
      expect(big.status).toBe(413);
      expect(big.headers.get('connection')).toBe('close');
      expect(((await big.json()) as { error: { message: string } }).error.message).toMatch(
        /65536-byte limit/,
      );
      const next = await post(server.url, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
      expect(next.status).toBe(400); // answered (no session yet), not ECONNRESET
    } finally {
      await server.close();
    }
  });

  it('refuses to bind beyond loopback without a token', async () => {
    await expect(start({ host: '0.0.0.0' })).rejects.toThrow(McpHttpServerError);
    await expect(start({ host: '0.0.0.0' })).rejects.toThrow(/SAGALANE_MCP_TOKEN/);
  });

  it('a host name that starts with "127." is no loopback: 127.corp.example without a token is refused', async () => {
    // The endpoint itself, before it binds (loopback is decided by address, not by name prefix).
    const refused = start({ host: '127.corp.example' });
    await expect(refused).rejects.toThrow(McpHttpServerError);
    await expect(refused).rejects.toThrow(/exposes it beyond this machine: set SAGALANE_MCP_TOKEN/);
    // And `sagalane mcp --http` configured so: it stops at its config and never serves.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SAGALANE_MCP_HOST: '127.corp.example',
      REDIS_URL: redisUrl(),
      SAGALANE_METRICS_PORT: '0',
    };
    delete env.SAGALANE_MCP_TOKEN;
    const run = await runSagalane(env, ['mcp', '--http', '0'], 60_000);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/SAGALANE_MCP_TOKEN.*not a loopback address/);
    expect(run.stderr).not.toMatch(/MCP \(HTTP\): http/);
  });

  it('stdio: answers every request read before the input ended, then returns', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (c: Buffer) => (written += c.toString()));
    const server = createMcpServer({ sagas: new SagaClient(ctx.client), express, readOnly: true });
    const serving = serveMcpOverStdio(server, { input, output });
    const send = (m: object) => input.write(JSON.stringify(m) + '\n');
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'pipe', version: '1' } },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'lane_stats', arguments: { types: ['echo'] } },
    });
    send({ jsonrpc: '2.0', id: 3, method: 'tools/list' });
    input.end();
    await serving;
    const replies = written
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number; result?: { isError?: boolean; tools?: unknown[] } });
    expect(replies.map((r) => r.id).sort()).toEqual([1, 2, 3]);
    expect(replies.find((r) => r.id === 2)!.result!.isError).toBeFalsy();
    expect(replies.find((r) => r.id === 3)!.result!.tools).toHaveLength(5); // the read tools
  });
});

/**
 * The MCP bridge as MCP clients reach it: `sagalane mcp` spawned over stdio (full and --read-only) and
 * `sagalane mcp --http 0` over Streamable HTTP with a bearer token and Host/Origin checks, using the SDK's Client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { READ_TOOLS, WRITE_TOOLS } from '../../src/mcp/server';
import type { SagaStateView } from '../../src/workflows/saga-contract';
import { cliPath, pollUntil, repoRoot, startFrontStack, nodeBin, type FrontStack } from './front-kit';

const TOKEN = 'front-test-token-0123456789';

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/** A raw POST with full control over Host, Origin and Authorization (fetch does not let a caller set Host). */
function rawPost(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(initialize);
  });
}

function textOf(result: unknown): string {
  return (result as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

async function stdioClient(env: NodeJS.ProcessEnv, extraArgs: string[] = []): Promise<Client> {
  const transport = new StdioClientTransport({
    command: nodeBin,
    args: [cliPath, 'mcp', ...extraArgs],
    cwd: repoRoot,
    env: env as Record<string, string>,
    stderr: 'pipe',
  });
  const client = new Client({ name: 'stdio-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

describe('MCP over stdio and Streamable HTTP', () => {
  let stack: FrontStack;
  let httpProcess: ChildProcess | undefined;

  beforeAll(async () => {
    stack = await startFrontStack('front-mcp-io', { expressWorker: false });
  });
  afterAll(async () => {
    if (httpProcess && httpProcess.exitCode === null) httpProcess.kill('SIGKILL');
    await stack?.stop();
  });

  it('serves every tool over stdio: starts a pipeline and follows it to completed', async () => {
    const client = await stdioClient(stack.env);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([...READ_TOOLS, ...WRITE_TOOLS].sort());
      const started = JSON.parse(
        textOf(
          await client.callTool({
            name: 'start_pipeline',
            arguments: { idea: 'breakout trading', symbol: 'DEMO' },
          }),
        ),
      ) as { sagaId: string };
      const final = await pollUntil(
        async () =>
          JSON.parse(
            textOf(await client.callTool({ name: 'get_saga', arguments: { sagaId: started.sagaId } })),
          ) as SagaStateView,
        (s) => ['completed', 'rolled_back', 'failed'].includes(s.state),
        45_000,
      );
      expect(final.state).toBe('completed');
    } finally {
      await client.close();
    }
  });

  it('--read-only over stdio hides the write tools', async () => {
    const client = await stdioClient(stack.env, ['--read-only']);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([...READ_TOOLS].sort());
    } finally {
      await client.close();
    }
  });

  it('stdio from a pipe: answers every request, then exits 0 when the input ends', async () => {
    const child = spawn(nodeBin, [cliPath, 'mcp', '--read-only'], {
      cwd: repoRoot,
      env: stack.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines = [
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: JSON.parse(initialize).params },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'list_sagas', arguments: { pageSize: 1 } },
      },
      { jsonrpc: '2.0', id: 3, method: 'tools/list' },
    ];
    child.stdin!.end(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    expect(await exited).toBe(0);
    const replies = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number; result?: { isError?: boolean } });
    expect(replies.map((r) => r.id).sort()).toEqual([1, 2, 3]);
    expect(replies.find((r) => r.id === 2)!.result!.isError).toBeFalsy();
  });

  it('stdio: a line that is not JSON-RPC gets an error reply (not silence) and the next request still works', async () => {
    const child = spawn(nodeBin, [cliPath, 'mcp', '--read-only'], {
      cwd: repoRoot,
      env: stack.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdin!.end(
      [
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: JSON.parse(initialize).params,
        }),
        JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
        '{"jsonrpc":"2.0","id":7,"method":"tools/list"', // cut short: not JSON
        JSON.stringify({ id: 8, hello: 'not a JSON-RPC message' }),
        JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
      ].join('\n') + '\n',
    );
    expect(await exited).toBe(0);
    const replies = stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { id: number | null; error?: { code: number }; result?: { tools?: unknown[] } },
      );
    expect(replies.find((r) => r.id === null)?.error?.code).toBe(-32700);
    expect(replies.find((r) => r.id === 8)?.error?.code).toBe(-32600);
    expect(replies.find((r) => r.id === 9)?.result?.tools?.length).toBe(READ_TOOLS.length);
  });

  it('HTTP: 401 without the token, Host and Origin checked, works with the token, metrics served, stops on SIGTERM', async () => {
    httpProcess = spawn(nodeBin, [cliPath, 'mcp', '--http', '0'], {
      cwd: repoRoot,
      env: { ...stack.env, SAGALANE_MCP_TOKEN: TOKEN, SAGALANE_METRICS_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    httpProcess.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    await pollUntil(
      async () => stderr,
      (s) => /running; Ctrl-C/.test(s) || httpProcess!.exitCode !== null,
      30_000,
      100,
    );
    const url = /MCP \(HTTP\): (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(stderr)?.[1];
    const metrics = /Metrics: (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(stderr)?.[1];
    expect(url).toBeDefined();
    expect(metrics).toBeDefined();
    const port = new URL(url!).port;

    const noToken = await rawPost(url!, { host: `127.0.0.1:${port}` });
    expect(noToken.status).toBe(401);
    expect(noToken.body).toContain('Authorization: Bearer');
    const wrongToken = await rawPost(url!, { host: `127.0.0.1:${port}`, authorization: 'Bearer nope' });
    expect(wrongToken.status).toBe(401);
    const badHost = await rawPost(url!, { host: `evil.example:${port}`, authorization: `Bearer ${TOKEN}` });
    expect(badHost.status).toBe(421);
    const badOrigin = await rawPost(url!, {
      host: `localhost:${port}`,
      origin: 'http://evil.example',
      authorization: `Bearer ${TOKEN}`,
    });
    expect(badOrigin.status).toBe(403);
    const ok = await rawPost(url!, { host: `localhost:${port}`, authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);

    const client = new Client({ name: 'http-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url!), {
        requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
      }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([...READ_TOOLS, ...WRITE_TOOLS].sort());
      const stats = await client.callTool({ name: 'lane_stats', arguments: { types: ['echo'] } });
      expect(stats.isError).toBeFalsy();
      expect(JSON.parse(textOf(stats)).lanes).toHaveLength(2);
    } finally {
      await client.close();
    }

    const health = await fetch(`${metrics}/healthz`);
    expect(health.status).toBe(200);
    const scrape = await (await fetch(`${metrics}/metrics`)).text();
    expect(scrape).toContain('sagalane_dependency_up');

    const exited = new Promise<number | null>((resolve) =>
      httpProcess!.once('exit', (code) => resolve(code)),
    );
    httpProcess.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

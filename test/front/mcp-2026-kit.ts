/**
 * 2026-07-28 clients for the MCP tests: the SDK v2 client (@modelcontextprotocol/client) pinned to 2026-07-28, over
 * Streamable HTTP or a spawned `sagalane mcp` on stdio, optionally declaring the `io.modelcontextprotocol/tasks`
 * extension; and `tasksRequest` for the extension's methods, which the v2 client sends as custom methods.
 */
import { z } from 'zod';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { cliPath, nodeBin, repoRoot } from './front-kit';

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
export const MODERN = '2026-07-28';

function modernClient(opts: { tasks?: boolean }): Client {
  return new Client(
    { name: 'modern-test', version: '1.0.0' },
    {
      versionNegotiation: { mode: { pin: MODERN } },
      capabilities: opts.tasks ? ({ extensions: { [TASKS_EXTENSION]: {} } } as never) : {},
    },
  );
}

export async function modernHttpClient(
  url: string,
  opts: { tasks?: boolean; token?: string } = {},
): Promise<Client> {
  const client = modernClient(opts);
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: opts.token ? { headers: { Authorization: `Bearer ${opts.token}` } } : undefined,
    }),
  );
  return client;
}

export async function modernStdioClient(
  env: NodeJS.ProcessEnv,
  opts: { tasks?: boolean; args?: string[] } = {},
): Promise<Client> {
  const client = modernClient(opts);
  await client.connect(
    new StdioClientTransport({
      command: nodeBin,
      args: [cliPath, 'mcp', ...(opts.args ?? [])],
      cwd: repoRoot,
      env: env as Record<string, string>,
      stderr: 'pipe',
    }),
  );
  return client;
}

const anyResult = z.looseObject({});
export type ExtensionTask = {
  taskId: string;
  status: string;
  statusMessage?: string;
  ttlMs?: number | null;
  pollIntervalMs?: number;
  result?: { isError?: boolean; structuredContent?: Record<string, unknown>; content: { text?: string }[] };
  inputRequests?: Record<string, { method: string; params: Record<string, unknown> }>;
  resultType?: string;
};

/** A `tasks/get`, `tasks/update` or `tasks/cancel` through the v2 client. */
export async function tasksRequest(
  client: Client,
  method: 'tasks/get' | 'tasks/update' | 'tasks/cancel',
  params: Record<string, unknown>,
): Promise<ExtensionTask> {
  return (await client.request({ method, params } as never, anyResult as never)) as ExtensionTask;
}

/**
 * A 2026-07-28 request as plain JSON-RPC over HTTP, with the per-request envelope and the standard headers. The v2
 * client refuses a `tools/call` answered with `resultType: "task"` (it has no tasks-extension support), so the call
 * that creates a task is made this way.
 */
export async function modernRpc(
  url: string,
  method: string,
  params: Record<string, unknown>,
  opts: { tasks?: boolean; elicitation?: boolean; meta?: Record<string, unknown> } = {},
): Promise<{ result?: ExtensionTask; error?: { code: number; message: string; data?: unknown } }> {
  const name = (params.name ?? params.uri ?? params.taskId) as string | undefined;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...(name ? { 'mcp-name': name } : {}),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method,
      params: {
        ...params,
        _meta: {
          ...opts.meta,
          'io.modelcontextprotocol/protocolVersion': MODERN,
          'io.modelcontextprotocol/clientInfo': { name: 'modern-rpc-test', version: '1.0.0' },
          'io.modelcontextprotocol/clientCapabilities': {
            ...(opts.tasks ? { extensions: { [TASKS_EXTENSION]: {} } } : {}),
            ...(opts.elicitation ? { elicitation: { form: {} } } : {}),
          },
        },
      },
    }),
  });
  const text = await response.text();
  // A JSON body, or an SSE stream whose last data line is the answer.
  const json = text.trimStart().startsWith('{')
    ? text
    : text
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5))
        .pop();
  return JSON.parse(json ?? 'null') as { result?: ExtensionTask; error?: { code: number; message: string } };
}

/** A tools/call of a task-capable tool from a client that declared the tasks extension. */
export async function callForTask(
  url: string,
  name: string,
  args: Record<string, unknown>,
  meta?: Record<string, unknown>,
): Promise<ExtensionTask> {
  const answer = await modernRpc(url, 'tools/call', { name, arguments: args }, { tasks: true, meta });
  if (!answer.result) throw new Error(`tools/call ${name} failed: ${JSON.stringify(answer.error)}`);
  return answer.result;
}

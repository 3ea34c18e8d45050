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

export interface ListenStream {
  /** Resolves with the first message (seen or to come) that `match` accepts. */
  next(match: (m: { method?: string; params?: Record<string, unknown> }) => boolean): Promise<unknown>;
  close(): void;
}

/** A `subscriptions/listen` stream over HTTP, read as server-sent events. */
export async function openListenStream(
  url: string,
  notifications: Record<string, unknown>,
): Promise<ListenStream> {
  const aborter = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    signal: aborter.signal,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': 'subscriptions/listen',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'subscriptions/listen',
      params: {
        notifications,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN,
          'io.modelcontextprotocol/clientInfo': { name: 'listen-test', version: '1.0.0' },
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    }),
  });
  const seen: { method?: string; params?: Record<string, unknown> }[] = [];
  const waiters: { match: (m: (typeof seen)[number]) => boolean; resolve: (m: unknown) => void }[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('');
          if (!data) continue;
          const message = JSON.parse(data) as (typeof seen)[number];
          seen.push(message);
          for (const w of [...waiters])
            if (w.match(message)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(message);
            }
        }
      }
    } catch {
      // closed
    }
  })();
  return {
    next: (match) => {
      const found = seen.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    close: () => aborter.abort(),
  };
}

export interface ClientListen {
  /** Every notification the client got while listening. */
  seen: { method: string; params?: Record<string, unknown> }[];
  /** Resolves with the first notification (seen or to come) that `match` accepts; fails after `timeoutMs`. */
  next(
    match: (m: { method: string; params?: Record<string, unknown> }) => boolean,
    timeoutMs?: number,
  ): Promise<{ method: string; params?: Record<string, unknown> }>;
  /** The listen request's end: its result, or the error it was refused with. */
  ended: Promise<unknown>;
  close(): void;
}

/**
 * A `subscriptions/listen` through the SDK v2 client (over whichever transport it is connected with): the request
 * stays open while the stream lasts, its notifications reach the client's fallback handler.
 */
export function listenThrough(client: Client, notifications: Record<string, unknown>): ClientListen {
  const seen: ClientListen['seen'] = [];
  const waiters: { match: (m: ClientListen['seen'][number]) => boolean; resolve: (m: unknown) => void }[] =
    [];
  client.fallbackNotificationHandler = async (n) => {
    const message = n as ClientListen['seen'][number];
    seen.push(message);
    for (const w of [...waiters])
      if (w.match(message)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(message);
      }
  };
  const aborter = new AbortController();
  const ended = client
    .request({ method: 'subscriptions/listen', params: { notifications } } as never, anyResult as never, {
      signal: aborter.signal,
      timeout: 10 * 60_000,
    })
    .catch((err: unknown) => err);
  return {
    seen,
    ended,
    next: (match, timeoutMs = 30_000) => {
      const found = seen.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`no matching notification within ${timeoutMs} ms; seen: ${JSON.stringify(seen)}`),
            ),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m as ClientListen['seen'][number]);
          },
        });
      });
    },
    close: () => aborter.abort(),
  };
}

/**
 * The MCP server over Streamable HTTP at `/mcp`, with stateful sessions: an `initialize` request opens a session
 * (its id comes back in `Mcp-Session-Id`), later requests carry that header, `DELETE /mcp` ends it. Every request is
 * checked first (Host, Origin, bearer token: see request-guard.ts). Bound to 127.0.0.1 unless told otherwise.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { isLoopback } from '../config';
import { createLogger, type Logger } from '../logger';
import { createRequestGuard } from './request-guard';

export interface McpHttpServerOptions {
  /** Builds one MCP server per session (e.g. `() => createMcpServer({ sagas, express })`). */
  createServer: () => McpServer;
  /** Interface to bind. @defaultValue '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one (see the returned `port`). @defaultValue 7300 */
  port?: number;
  /** Required bearer token. Must be set when `host` is not a loopback address. */
  token?: string;
  /** Extra accepted Host values (`name` or `name:port`). */
  allowedHosts?: string[];
  /** Extra accepted Origin values. */
  allowedOrigins?: string[];
  /** Largest accepted request body. @defaultValue 1048576 (1 MiB) */
  maxBodyBytes?: number;
  /** @defaultValue a logger at info level */
  logger?: Logger;
}

export interface McpHttpServer {
  /** `http://host:port/mcp` */
  url: string;
  port: number;
  /** Open sessions. */
  sessionCount(): number;
  close(): Promise<void>;
}

export class McpHttpServerError extends Error {
  override readonly name = 'McpHttpServerError';
}

const MCP_PATH = '/mcp';

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
}

export async function startMcpHttpServer(options: McpHttpServerOptions): Promise<McpHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const logger = options.logger ?? createLogger('info', { component: 'mcp-http' });
  if (!options.token && !isLoopback(host)) {
    throw new McpHttpServerError(
      `Binding the MCP endpoint to ${host} exposes it beyond this machine: set SAGALANE_MCP_TOKEN (a bearer token) first.`,
    );
  }
  const sessions = new Map<string, Session>();
  // Host values name the port, known only once listening.
  const guard: { check?: ReturnType<typeof createRequestGuard> } = {};

  const httpServer = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      logger.error('MCP HTTP request failed', { error: err });
      if (!res.headersSent) sendJsonRpcError(res, 500, -32603, 'Internal server error');
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const verdict = guard.check!(req.headers);
    if (!verdict.ok) {
      res.writeHead(verdict.status, { 'content-type': 'application/json', ...verdict.headers });
      res.end(JSON.stringify({ error: verdict.message }));
      return;
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== MCP_PATH) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `Not found: the MCP endpoint is ${MCP_PATH}` }));
      return;
    }
    const sessionHeader = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;
    let body: unknown;
    if (req.method === 'POST') {
      try {
        body = await readJsonBody(req, maxBodyBytes);
      } catch (err) {
        if (err instanceof BodyTooLargeError) {
          // The rest of the body is left unread, so this connection cannot carry another request: close it rather
          // than let the client's next request on it fail with a reset.
          res.setHeader('connection', 'close');
          sendJsonRpcError(res, 413, -32600, err.message);
          return;
        }
        sendJsonRpcError(res, 400, -32700, (err as Error).message);
        return;
      }
    }
    if (sessionId) {
      const session = sessions.get(sessionId);
      if (!session) {
        sendJsonRpcError(res, 404, -32001, 'Unknown or expired session: initialize a new one');
        return;
      }
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      sendJsonRpcError(res, 400, -32000, 'No Mcp-Session-Id header: send an initialize request first');
      return;
    }
    const server = options.createServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server });
        logger.debug('MCP session opened', { sessionId: id });
      },
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id && sessions.delete(id)) logger.debug('MCP session closed', { sessionId: id });
      void server.close().catch(() => undefined);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? 7300, host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  guard.check = createRequestGuard({
    port,
    token: options.token,
    allowedHosts: isLoopback(host) ? options.allowedHosts : [host, ...(options.allowedHosts ?? [])],
    allowedOrigins: options.allowedOrigins,
  });
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}${MCP_PATH}`,
    port,
    sessionCount: () => sessions.size,
    async close() {
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled(open.map((s) => s.transport.close()));
      await Promise.allSettled(open.map((s) => s.server.close()));
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
    },
  };
}

function sendJsonRpcError(res: http.ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

async function readJsonBody(req: http.IncomingMessage, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      throw new BodyTooLargeError(`Request body is over the ${maxBytes}-byte limit: send smaller messages`);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error('Request body is not valid JSON');
  }
}

/**
 * The MCP server over Streamable HTTP at `/mcp`, with stateful sessions: an `initialize` request opens a session
 * (its id comes back in `Mcp-Session-Id`), later requests carry that header, `DELETE /mcp` ends it. Every request is
 * checked first (Host, Origin, bearer token: see request-guard.ts). Bound to 127.0.0.1 unless told otherwise.
 * Sessions are bounded: at most `maxSessions` open (an initialize over the cap gets 503 and a JSON-RPC error), and
 * one without requests for `sessionIdleMs` is closed.
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
  /**
   * Most sessions open at once (each holds an MCP server and its subscriptions); an `initialize` over the cap gets
   * HTTP 503 with a JSON-RPC error. @defaultValue 100
   */
  maxSessions?: number;
  /**
   * A session with no request for this long, and no stream open, is closed (its next request gets 404 and the client
   * initializes again). @defaultValue 1800000 (30 min)
   */
  sessionIdleMs?: number;
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
  /** Requests (and SSE streams) of the session still open. */
  open: number;
  lastSeen: number;
}

export const DEFAULT_MAX_SESSIONS = 100;
export const DEFAULT_SESSION_IDLE_MS = 30 * 60_000;

export async function startMcpHttpServer(options: McpHttpServerOptions): Promise<McpHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const logger = options.logger ?? createLogger('info', { component: 'mcp-http' });
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const sessionIdleMs = options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
  if (!Number.isInteger(maxSessions) || maxSessions < 1)
    throw new McpHttpServerError(`maxSessions must be a positive integer (got ${maxSessions})`);
  if (!Number.isInteger(sessionIdleMs) || sessionIdleMs < 1000)
    throw new McpHttpServerError(`sessionIdleMs must be an integer >= 1000 (got ${sessionIdleMs})`);
  if (!options.token && !isLoopback(host)) {
    throw new McpHttpServerError(
      `Binding the MCP endpoint to ${host} exposes it beyond this machine: set SAGALANE_MCP_TOKEN (a bearer token) first.`,
    );
  }
  const sessions = new Map<string, Session>();
  /** initialize requests being answered: they count against the cap before their session exists. */
  let opening = 0;
  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const [id, session] of sessions) {
        if (session.open > 0 || now - session.lastSeen < sessionIdleMs) continue;
        logger.debug('MCP session expired (idle)', { sessionId: id, idleMs: now - session.lastSeen });
        void session.transport.close().catch(() => undefined);
      }
    },
    Math.max(250, Math.min(sessionIdleMs / 4, 60_000)),
  );
  sweeper.unref();
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
      session.open += 1;
      session.lastSeen = Date.now();
      res.once('close', () => {
        session.open -= 1;
        session.lastSeen = Date.now();
      });
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      sendJsonRpcError(res, 400, -32000, 'No Mcp-Session-Id header: send an initialize request first');
      return;
    }
    if (sessions.size + opening >= maxSessions) {
      sendJsonRpcError(
        res,
        503,
        -32000,
        `Too many open MCP sessions (${maxSessions}, the limit; SAGALANE_MCP_MAX_SESSIONS): end one with ` +
          `DELETE /mcp, or retry once an idle one expired (after ${Math.round(sessionIdleMs / 1000)} s without ` +
          'requests).',
      );
      return;
    }
    opening += 1;
    res.once('close', () => (opening -= 1));
    const server = options.createServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server, open: 0, lastSeen: Date.now() });
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
      clearInterval(sweeper);
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

/**
 * The MCP server over Streamable HTTP at `/mcp`. Two protocol eras share the endpoint: a 2026-07-28 request (the
 * per-request `_meta` envelope) is answered statelessly by the SDK v2 leg (modern-http.ts, `createModernServer`);
 * everything else is 2025-era traffic with stateful sessions: an `initialize` request opens a session
 * (its id comes back in `Mcp-Session-Id`), later requests carry that header, `DELETE /mcp` ends it. Every request is
 * checked first (Host, Origin, bearer token: see request-guard.ts). Bound to 127.0.0.1 unless told otherwise.
 * Sessions are bounded: at most `maxSessions` open, and at most `maxSessionsPerToken` opened with one bearer token (an
 * initialize over either cap gets 503 and a JSON-RPC error); the sessions of one token share `maxSubscriptionsPerToken`
 * resource subscriptions with its 2026-07-28 listen streams (stateless: no session to cap); a session is used only with the token that opened it; and one without a request for
 * `sessionIdleMs` is closed, even with a stream open (a client that only listens sends `ping` now and then). A request
 * whose client drops the connection before its answer is cancelled, so whatever it waited for stops.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { McpServerFactory } from '@modelcontextprotocol/server';
import { isLoopback } from '../config';
import { createLogger, type Logger } from '../logger';
import { createModernHttpLeg } from './modern-http';
import type { ListenFeed } from './saga-listen';
import { createHolderOf, createRequestGuard, tokensOf } from './request-guard';
import type { SubscriptionBudget } from './saga-resources';

/** What the endpoint tells `createServer` about the session it builds a server for. */
export interface McpSessionContext {
  /** Who opened it: `token:<n>` (the n-th accepted token) or `anonymous` (no token configured). */
  holder: string;
  /** The subscription places of the session's token: pass it to `createMcpServer({ subscriptionBudget })`. */
  subscriptionBudget: SubscriptionBudget;
}

export interface McpHttpServerOptions {
  /**
   * Builds one MCP server per session, e.g.
   * `(session) => createMcpServer({ sagas, express, subscriptionBudget: session.subscriptionBudget })`.
   */
  createServer: (session: McpSessionContext) => McpServer;
  /**
   * Builds the 2026-07-28 server answering one stateless request (see modern-http.ts), e.g.
   * `() => createModernMcpServer({ backends })`. Without it, only 2025-era sessions are served.
   */
  createModernServer?: McpServerFactory;
  /** Feeds `subscriptions/listen` streams of the 2026-07-28 leg, e.g. `sagaListenFeed(backends)`. */
  modernListenFeed?: ListenFeed;
  /** Interface to bind. @defaultValue '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one (see the returned `port`). @defaultValue 7300 */
  port?: number;
  /** Required bearer token. Must be set (or `tokens`) when `host` is not a loopback address. */
  token?: string;
  /** More accepted bearer tokens, e.g. one per client or team: each is its own holder for the per-token caps. */
  tokens?: string[];
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
   * Most sessions opened with one bearer token (or, with none configured, by all clients together), so one holder
   * cannot take every session. @defaultValue `maxSessions` shared evenly by the accepted tokens (rounded up):
   * `maxSessions` with one token or none
   */
  maxSessionsPerToken?: number;
  /**
   * Most resource subscriptions the sessions of one bearer token hold together (each session also has its own cap,
   * `createMcpServer({ maxSubscriptions })`). @defaultValue 1000
   */
  maxSubscriptionsPerToken?: number;
  /**
   * A session with no request for this long is closed, whether or not a stream of it is open (its next request gets
   * 404 and the client initializes again); a request still being answered keeps it. @defaultValue 1800000 (30 min)
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
  holder: string;
  /** POST / DELETE requests of the session still being answered (a GET stream does not count: it only listens). */
  answering: number;
  lastSeen: number;
}

export const DEFAULT_MAX_SESSIONS = 100;
export const DEFAULT_SESSION_IDLE_MS = 30 * 60_000;
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_TOKEN = 1000;

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
  const tokens = tokensOf(options);
  const maxSessionsPerToken =
    options.maxSessionsPerToken ?? Math.ceil(maxSessions / Math.max(1, tokens.length));
  if (!Number.isInteger(maxSessionsPerToken) || maxSessionsPerToken < 1)
    throw new McpHttpServerError(
      `maxSessionsPerToken must be a positive integer (got ${maxSessionsPerToken})`,
    );
  const maxSubscriptionsPerToken = options.maxSubscriptionsPerToken ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_TOKEN;
  if (!Number.isInteger(maxSubscriptionsPerToken) || maxSubscriptionsPerToken < 1)
    throw new McpHttpServerError(
      `maxSubscriptionsPerToken must be a positive integer (got ${maxSubscriptionsPerToken})`,
    );
  if (tokens.length === 0 && !isLoopback(host)) {
    throw new McpHttpServerError(
      `Binding the MCP endpoint to ${host} exposes it beyond this machine: set SAGALANE_MCP_TOKEN (a bearer token, or several in SAGALANE_MCP_TOKENS) first.`,
    );
  }
  const sessions = new Map<string, Session>();
  /** initialize requests being answered, by holder: they count against the caps before their session exists. */
  const opening = new Map<string, number>();
  const count = (map: Map<string, number>, key: string, by: number) => {
    const n = (map.get(key) ?? 0) + by;
    if (n === 0) map.delete(key);
    else map.set(key, n);
  };
  const sum = (map: Map<string, number>) => [...map.values()].reduce((a, b) => a + b, 0);
  const sessionsOf = (holder: string) =>
    [...sessions.values()].filter((s) => s.holder === holder).length + (opening.get(holder) ?? 0);
  const subscriptionsByHolder = new Map<string, number>();
  const budgetOf = (holder: string): SubscriptionBudget => ({
    take: () => {
      if ((subscriptionsByHolder.get(holder) ?? 0) >= maxSubscriptionsPerToken)
        return (
          `Too many resource subscriptions for this bearer token across its sessions (${maxSubscriptionsPerToken}, ` +
          'the limit): send resources/unsubscribe for one you no longer need, or end an idle session.'
        );
      count(subscriptionsByHolder, holder, 1);
      return undefined;
    },
    give: () => count(subscriptionsByHolder, holder, -1),
  });
  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const [id, session] of sessions) {
        if (session.answering > 0 || now - session.lastSeen < sessionIdleMs) continue;
        logger.debug('MCP session expired (idle)', { sessionId: id, idleMs: now - session.lastSeen });
        void session.transport.close().catch(() => undefined);
      }
    },
    Math.max(250, Math.min(sessionIdleMs / 4, 60_000)),
  );
  sweeper.unref();
  // Host values name the port, known only once listening.
  const guard: { check?: ReturnType<typeof createRequestGuard> } = {};
  const holderOf = createHolderOf(options);
  const modern = options.createModernServer
    ? createModernHttpLeg(options.createModernServer, {
        maxBodyBytes,
        onListen: options.modernListenFeed,
        maxSubscriptionsPerToken,
        onerror: (error) =>
          logger.debug('MCP 2026-07-28 request refused or failed', { error: error.message }),
      })
    : undefined;

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
    const holder = holderOf(req.headers);
    if (modern && (await modern.claims(req, body))) {
      await modern.serve(req, res, body, budgetOf(holder));
      return;
    }
    if (sessionId) {
      const session = sessions.get(sessionId);
      // A session is its opener's: another token holder is told no more than that it does not exist.
      if (!session || session.holder !== holder) {
        sendJsonRpcError(res, 404, -32001, 'Unknown or expired session: initialize a new one');
        return;
      }
      const answering = req.method !== 'GET';
      if (answering) session.answering += 1;
      session.lastSeen = Date.now();
      const requestIds = requestIdsOf(body);
      res.once('close', () => {
        if (answering) {
          session.answering -= 1;
          session.lastSeen = Date.now();
        }
        // The client went away before its answer: cancel what it asked, as a notifications/cancelled would, so its
        // handlers (a tasks/result, a waiting tool call) stop waiting instead of running on for nobody.
        if (!res.writableFinished && sessions.get(sessionId) === session)
          for (const requestId of requestIds)
            session.transport.onmessage?.({
              jsonrpc: '2.0',
              method: 'notifications/cancelled',
              params: { requestId, reason: 'The client closed the connection' },
            });
      });
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      sendJsonRpcError(res, 400, -32000, 'No Mcp-Session-Id header: send an initialize request first');
      return;
    }
    const retry =
      `end one with DELETE /mcp, or retry once an idle one expired (after ${Math.round(sessionIdleMs / 1000)} s ` +
      'without requests).';
    if (sessions.size + sum(opening) >= maxSessions) {
      sendJsonRpcError(
        res,
        503,
        -32000,
        `Too many open MCP sessions (${maxSessions}, the limit; SAGALANE_MCP_MAX_SESSIONS): ${retry}`,
      );
      return;
    }
    if (sessionsOf(holder) >= maxSessionsPerToken) {
      sendJsonRpcError(
        res,
        503,
        -32000,
        `Too many open MCP sessions for this bearer token (${maxSessionsPerToken}, the limit per token): ${retry}`,
      );
      return;
    }
    count(opening, holder, 1);
    res.once('close', () => count(opening, holder, -1));
    const server = options.createServer({ holder, subscriptionBudget: budgetOf(holder) });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server, holder, answering: 0, lastSeen: Date.now() });
        logger.debug('MCP session opened', { sessionId: id, holder });
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
    tokens: options.tokens,
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
      await modern?.close();
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
    },
  };
}

/** The ids of the JSON-RPC requests in a POST body (one message or a batch). */
function requestIdsOf(body: unknown): (string | number)[] {
  const messages = Array.isArray(body) ? (body as unknown[]) : [body];
  const ids: (string | number)[] = [];
  for (const m of messages) {
    if (!m || typeof m !== 'object' || typeof (m as { method?: unknown }).method !== 'string') continue;
    const id = (m as { id?: unknown }).id;
    if (typeof id === 'string' || typeof id === 'number') ids.push(id);
  }
  return ids;
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

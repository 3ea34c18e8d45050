/**
 * The 2026-07-28 leg of the `/mcp` endpoint: @modelcontextprotocol/server's `createMcpHandler` in strict mode
 * (`legacy: 'reject'`), served from node:http. The endpoint asks the SDK's own classifier (`isLegacyRequest`) which
 * leg a request is for, so the two can never disagree: a request with the per-request `_meta` envelope (also one naming
 * a revision not served, which this leg answers with the spec's unsupported-version error listing the supported ones)
 * comes here (the error lists the revisions `server/discover` advertises, 2026-07-28: the 2025-era ones are reached
 * through `initialize`, not through this error); `initialize`, requests with an `Mcp-Session-Id` and other 2025-era traffic go to the session leg
 * (http-server.ts). The guard (Host, Origin, bearer token) has run before either.
 */
import type http from 'node:http';
import { createMcpHandler, isLegacyRequest, type McpServerFactory } from '@modelcontextprotocol/server';
import {
  declaresTasksExtension,
  MISSING_REQUIRED_CLIENT_CAPABILITY,
  TASKS_EXTENSION,
  TASKS_EXTENSION_REQUIRED,
} from './modern-tasks';
import { followedSagaUris, type ListenFeed } from './saga-listen';
import { OVER_CAP, type SubscriptionBudget } from './saga-resources';
import { listenSplice, type ListenMessage } from './listen-splice';
import { requestedTaskIds } from './task-listen';
import { sagaStarts } from './tool-context';

/** Longest a listen stream's acknowledgement waits for its sagas to be followed. */
const LISTEN_ANCHOR_WAIT_MS = 5000;

export interface ModernHttpLeg {
  /** Whether the request (its body already read and parsed) is for the 2026-07-28 leg. */
  claims(req: http.IncomingMessage, body: unknown): Promise<boolean>;
  /** `budget`: the subscription places of the request's bearer token, which a listen stream holds while open. */
  serve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: unknown,
    budget?: SubscriptionBudget,
  ): Promise<void>;
  close(): Promise<void>;
}

export interface ModernHttpLegOptions {
  /** Largest body, the same bound the session leg reads with. */
  maxBodyBytes: number;
  /** Feeds the events a `subscriptions/listen` stream asked for, until the stream ends (saga-listen.ts). */
  onListen?: ListenFeed;
  /** The per-token cap the budgets given to `serve` enforce, named when a listen is refused. */
  maxSubscriptionsPerToken?: number;
  onerror?: (error: Error) => void;
}

export function createModernHttpLeg(factory: McpServerFactory, options: ModernHttpLegOptions): ModernHttpLeg {
  const handler = createMcpHandler(factory, {
    legacy: 'reject',
    maxRequestBodySize: options.maxBodyBytes,
    onerror: options.onerror,
  });
  // Sagas started through this process: open listen streams that asked for resources/list_changed hear of it.
  const announce = () => handler.notify.resourcesChanged();
  sagaStarts.on('started', announce);
  return {
    async claims(req, body) {
      if (req.headers['mcp-session-id']) return false;
      // A 2026-07-28 request is one JSON object (no batches): anything else is the session leg's to refuse, as before.
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
      try {
        return !(await isLegacyRequest(webRequest(req, body), body, {
          maxRequestBodySize: options.maxBodyBytes,
        }));
      } catch {
        // The classifier could not read it (e.g. nesting past its recursion): not a well-formed 2026 request.
        return false;
      }
    },
    async serve(req, res, body, budget) {
      const aborted = new AbortController();
      const exchange = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) aborted.abort();
        exchange.abort();
      });
      const message = body as ListenMessage;
      const listen = options.onListen && message?.method === 'subscriptions/listen' ? message : undefined;
      const taskIds = listen ? requestedTaskIds(listen.params?.notifications) : [];
      if (listen && taskIds.length && !declaresTasksExtension(listen.params?._meta))
        // The extension's rule: task notifications only for a client that declared it.
        return refuse(
          res,
          listen.id,
          MISSING_REQUIRED_CLIENT_CAPABILITY,
          `Declare the ${TASKS_EXTENSION} extension in the request's client capabilities to listen to tasks`,
          TASKS_EXTENSION_REQUIRED,
        );
      // The places a listen stream holds (a saga followed, a task followed) come from its token's, as the 2025
      // sessions' resources/subscribe do: one token cannot follow more than SAGALANE_MCP_MAX_SUBSCRIPTIONS_PER_TOKEN.
      const places = listen ? followedSagaUris(listen.params?.notifications).length + taskIds.length : 0;
      if (listen && budget && places > 0) {
        if (!takePlaces(budget, places))
          return refuse(
            res,
            listen.id,
            OVER_CAP,
            `Too many subscriptions for this bearer token: this subscriptions/listen follows ${places} (saga:// ` +
              `URIs and task ids) on top of what its sessions and open listen streams hold, over its limit ` +
              `(${options.maxSubscriptionsPerToken ?? 'SAGALANE_MCP_MAX_SUBSCRIPTIONS_PER_TOKEN'}): close a listen ` +
              'stream or unsubscribe what you no longer need, then listen again.',
          );
        exchange.signal.addEventListener('abort', () => givePlaces(budget, places), { once: true });
      }
      const stream = listen ? listenSplice(listen, taskIds, res) : undefined;
      if (listen && stream)
        // Followed from now on before the SDK acknowledges the stream (bounded: a slow backend does not hold it).
        await Promise.race([
          options.onListen!(
            listen.params?.notifications,
            exchange.signal,
            { resourceUpdated: (uri) => handler.notify.resourceUpdated(uri), task: stream.task },
            taskIds,
          ),
          new Promise((resolve) => setTimeout(resolve, LISTEN_ANCHOR_WAIT_MS).unref()),
        ]);
      const forSdk = stream ? stream.sdkBody : body;
      const response = await handler.fetch(webRequest(req, forSdk, aborted.signal), { parsedBody: forSdk });
      const headers: Record<string, string> = {};
      response.headers.forEach((value, key) => (headers[key] = value));
      res.writeHead(response.status, headers);
      if (!response.body) {
        res.end();
        return;
      }
      const sse = stream && /text\/event-stream/.test(response.headers.get('content-type') ?? '');
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
          if (sse) stream.fromSdk(chunk);
          else res.write(chunk);
      } catch {
        // The client went away mid-stream: the exchange was aborted with it.
      }
      res.end();
    },
    close: () => {
      sagaStarts.off('started', announce);
      return handler.close();
    },
  };
}

function refuse(
  res: http.ServerResponse,
  id: string | number | undefined,
  code: number,
  message: string,
  data?: unknown,
): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({ jsonrpc: '2.0', id: id ?? null, error: { code, message, ...(data ? { data } : {}) } }),
  );
}

/** Takes `n` places or none. */
function takePlaces(budget: SubscriptionBudget, n: number): boolean {
  for (let taken = 0; taken < n; taken++)
    if (budget.take() !== undefined) {
      givePlaces(budget, taken);
      return false;
    }
  return true;
}

function givePlaces(budget: SubscriptionBudget, n: number): void {
  for (let i = 0; i < n; i++) budget.give();
}

function webRequest(req: http.IncomingMessage, body: unknown, signal?: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && body !== undefined;
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
    method: req.method,
    headers,
    body: hasBody ? JSON.stringify(body) : undefined,
    signal,
  });
}

/**
 * Sagas as MCP resources that move: `saga://{sagaId}` reads a saga's state, `resources/list` lists the newest sagas
 * (with `notifications/resources/list_changed` when one starts through this process), and `resources/subscribe`
 * sends `notifications/resources/updated` at each transition of the saga until `resources/unsubscribe` (the
 * transitions come from the saga's history, see saga-follower.ts, so none is missed). Saga ids complete by prefix.
 */
import { ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ErrorCode,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { SagaNotFoundError } from '../client/errors';
import type { SagaClient } from '../client/saga-client';
import { followSaga } from './saga-follower';
import type { SagaTransition } from './progress';
import { sagaStarts, type ToolContext } from './tool-context';

/** The spec's "Resource not found" error code. */
export const RESOURCE_NOT_FOUND = -32002;
const SAGA_URI = /^saga:\/\/(.+)$/;
const LISTED_SAGAS = 50;
const COMPLETIONS = 20;

export function sagaUri(sagaId: string): string {
  return `saga://${encodeURIComponent(sagaId)}`;
}

/** The saga id of a `saga://` URI, or undefined for any other URI. */
export function sagaIdOfUri(uri: string): string | undefined {
  const match = SAGA_URI.exec(uri);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return undefined;
  }
}

/**
 * Places for resource subscriptions shared by several MCP servers (the HTTP endpoint gives the sessions of one bearer
 * token one budget), on top of each session's own cap.
 */
export interface SubscriptionBudget {
  /** Takes a place; returns why there is none (the subscribe is then refused with that text). */
  take(): string | undefined;
  /** Gives back a place taken. */
  give(): void;
}

export interface SagaResourcesOptions {
  /** Most subscriptions one session (one MCP server) holds at once. */
  maxSubscriptions: number;
  /** Shared places, taken as well as the session's own. */
  budget?: SubscriptionBudget;
  /** The saga types `resources/list` lists (the catalog's). @defaultValue the research pipeline */
  types?: readonly string[];
}

/** JSON-RPC error code of a subscribe refused for a full cap (the session cap of http-server.ts uses it too). */
export const OVER_CAP = -32000;

export function registerSagaResources(ctx: ToolContext, options: SagaResourcesOptions): void {
  const { server, backends } = ctx;
  server.registerResource(
    'saga',
    new ResourceTemplate('saga://{sagaId}', {
      list: async () => {
        const page = await (
          await backends.sagas()
        ).list({ pageSize: LISTED_SAGAS, ...(options.types ? { types: options.types } : {}) });
        return {
          resources: page.items.map((s) => ({
            uri: sagaUri(s.sagaId),
            name: s.sagaId,
            description: `${s.state ?? s.status}${s.symbol ? ` · ${s.symbol}` : ''}${s.idea ? ` · ${s.idea}` : ''}`,
            mimeType: 'application/json',
          })),
        };
      },
      complete: { sagaId: async (prefix) => completeSagaIds(await backends.sagas(), prefix) },
    }),
    {
      title: 'Saga state',
      description:
        'The state query of a saga (same shape as get_saga), as JSON. Subscribe to hear of each transition.',
      mimeType: 'application/json',
    },
    async (uri, variables) => {
      const id = decodeURIComponent(String(variables.sagaId));
      const state = await (await backends.sagas()).getState(id);
      return {
        contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(state, null, 2) }],
      };
    },
  );

  const subscriptions = new Map<string, AbortController>();

  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const { uri } = request.params;
    const sagaId = sagaIdOfUri(uri);
    if (sagaId === undefined)
      throw new McpError(
        RESOURCE_NOT_FOUND,
        `Resource not found: ${uri}. Only saga://<sagaId> resources can be subscribed to.`,
        { uri },
      );
    let sagas: SagaClient;
    let historyLength: number;
    try {
      sagas = await backends.sagas();
      ({ historyLength } = await sagas.client.workflow.getHandle(sagaId).describe());
    } catch (err) {
      if ((err as { name?: string }).name === 'WorkflowNotFoundError')
        throw new McpError(RESOURCE_NOT_FOUND, new SagaNotFoundError(sagaId).message, { uri });
      throw new McpError(ErrorCode.InternalError, ctx.describe(err), { uri });
    }
    if (subscriptions.has(uri)) return {};
    if (subscriptions.size >= options.maxSubscriptions)
      throw new McpError(
        OVER_CAP,
        `Too many resource subscriptions on this session (${options.maxSubscriptions}, the limit): send ` +
          'resources/unsubscribe for one you no longer need first.',
        { uri, limit: options.maxSubscriptions },
      );
    const refused = options.budget?.take();
    if (refused !== undefined) throw new McpError(OVER_CAP, refused, { uri });
    const controller = new AbortController();
    subscriptions.set(uri, controller);
    void watch(ctx, sagas, sagaId, uri, historyLength, controller.signal).finally(() =>
      drop(uri, controller),
    );
    return {};
  });

  /** Ends a subscription and gives its place back, once. */
  const drop = (uri: string, controller: AbortController | undefined) => {
    if (!controller || subscriptions.get(uri) !== controller) return;
    subscriptions.delete(uri);
    controller.abort();
    options.budget?.give();
  };

  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    drop(request.params.uri, subscriptions.get(request.params.uri));
    return {};
  });

  const announce = () => {
    if (server.isConnected()) void server.server.sendResourceListChanged().catch(() => undefined);
  };
  sagaStarts.on('started', announce);
  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    previousOnClose?.();
    sagaStarts.off('started', announce);
    for (const [uri, c] of [...subscriptions]) drop(uri, c);
  };
}

/** Sends resources/updated per transition until unsubscribed or the saga's run closed; retries if Temporal drops. */
function watch(
  ctx: ToolContext,
  sagas: SagaClient,
  sagaId: string,
  uri: string,
  afterEventId: number,
  signal: AbortSignal,
): Promise<void> {
  return watchSaga(sagas, sagaId, afterEventId, signal, {
    onTransition: async (t) => {
      ctx.log('debug', `saga ${sagaId}: ${t.state}`, { sagaId, state: t.state, step: t.step });
      if (ctx.server.isConnected())
        await ctx.server.server.sendResourceUpdated({ uri }).catch(() => undefined);
    },
    onRetry: (err) => ctx.log('warning', `following saga ${sagaId} failed, retrying: ${ctx.describe(err)}`),
  });
}

/**
 * The saga follower behind both eras' subscriptions (`resources/subscribe` here, `subscriptions/listen` in
 * saga-listen.ts): calls `onTransition` per transition recorded after `afterEventId`, until `signal` fires or the
 * saga's run closed; retries with backoff if Temporal drops; ends quietly for a saga that does not exist.
 */
export async function watchSaga(
  sagas: SagaClient,
  sagaId: string,
  afterEventId: number,
  signal: AbortSignal,
  handlers: {
    onTransition(t: SagaTransition & { eventId: number }): Promise<void> | void;
    onRetry?(err: unknown): void;
  },
): Promise<void> {
  let delayMs = 500;
  let after = afterEventId;
  while (!signal.aborted) {
    try {
      const { closed } = await followSaga(sagas, sagaId, {
        afterEventId: after,
        signal,
        onTransition: async (t) => {
          after = t.eventId;
          await handlers.onTransition(t);
        },
      });
      if (closed || signal.aborted) return;
    } catch (err) {
      if (err instanceof SagaNotFoundError) return;
      handlers.onRetry?.(err);
      await new Promise((r) => setTimeout(r, delayMs).unref());
      delayMs = Math.min(delayMs * 2, 10_000);
    }
  }
}

/** Saga ids starting with `prefix`, newest first. */
export async function completeSagaIds(sagas: SagaClient, prefix: string): Promise<string[]> {
  const escaped = prefix.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  try {
    const page = await sagas.list({
      pageSize: COMPLETIONS,
      ...(prefix ? { query: `WorkflowId STARTS_WITH "${escaped}"` } : {}),
    });
    return page.items.map((s) => s.sagaId);
  } catch {
    // A visibility store without STARTS_WITH: filter the newest ones here.
    const page = await sagas.list({ pageSize: 200 });
    return page.items
      .map((s) => s.sagaId)
      .filter((id) => id.startsWith(prefix))
      .slice(0, COMPLETIONS);
  }
}

/**
 * `subscriptions/listen` (2026-07-28) for `saga://` resources: a listen stream that names saga URIs in
 * `notifications.resourceSubscriptions` gets `notifications/resources/updated` at each transition of those sagas,
 * from the same saga follower as the 2025-11-25 `resources/subscribe` (saga-resources.ts). SDK v2 owns the stream
 * (acknowledgement, subscription id, filtering per stream); this feeds its event bus, following each saga while at
 * least one open stream asks for it. Sagas started through this process announce `resources/list_changed`.
 */
import type { ServerNotifier } from '@modelcontextprotocol/server';
import type { McpBackends } from './backends';
import { sagaIdOfUri, watchSaga } from './saga-resources';

/** Most saga URIs one stream gets followed (more are acknowledged by the SDK but not fed). */
const MAX_FOLLOWED_PER_STREAM = 100;

export type ListenFeed = (
  filter: { resourceSubscriptions?: unknown } | undefined,
  signal: AbortSignal,
  notify: ServerNotifier,
) => void;

export function sagaListenFeed(backends: McpBackends): ListenFeed {
  const followed = new Map<string, { streams: number; stop: AbortController }>();
  return (filter, signal, notify) => {
    const asked = Array.isArray(filter?.resourceSubscriptions) ? filter.resourceSubscriptions : [];
    const uris = [...new Set(asked.filter((u): u is string => typeof u === 'string'))]
      .filter((uri) => sagaIdOfUri(uri) !== undefined)
      .slice(0, MAX_FOLLOWED_PER_STREAM);
    for (const uri of uris) {
      let entry = followed.get(uri);
      if (!entry) {
        entry = { streams: 0, stop: new AbortController() };
        followed.set(uri, entry);
        void follow(uri, entry.stop.signal, notify).finally(() => {
          if (followed.get(uri) === entry) followed.delete(uri);
        });
      }
      entry.streams += 1;
      const current = entry;
      signal.addEventListener(
        'abort',
        () => {
          current.streams -= 1;
          if (current.streams === 0) current.stop.abort();
        },
        { once: true },
      );
    }
  };

  async function follow(uri: string, signal: AbortSignal, notify: ServerNotifier): Promise<void> {
    const sagaId = sagaIdOfUri(uri)!;
    try {
      const sagas = await backends.sagas();
      const { historyLength } = await sagas.client.workflow.getHandle(sagaId).describe();
      await watchSaga(sagas, sagaId, historyLength, signal, {
        onTransition: () => notify.resourceUpdated(uri),
      });
    } catch {
      // An unknown saga or a backend down: the stream stays open, nothing to report.
    }
  }
}

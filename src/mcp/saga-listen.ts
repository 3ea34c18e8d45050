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

/**
 * Starts feeding a stream; resolves once every saga it asked for is followed from its current history (the stream is
 * acknowledged after that, so no transition after the acknowledgement is missed).
 */
export type ListenFeed = (
  filter: { resourceSubscriptions?: unknown } | undefined,
  signal: AbortSignal,
  notify: ServerNotifier,
) => Promise<void>;

export function sagaListenFeed(backends: McpBackends): ListenFeed {
  const followed = new Map<string, { streams: number; stop: AbortController; anchored: Promise<void> }>();
  return async (filter, signal, notify) => {
    const asked = Array.isArray(filter?.resourceSubscriptions) ? filter.resourceSubscriptions : [];
    const uris = [...new Set(asked.filter((u): u is string => typeof u === 'string'))]
      .filter((uri) => sagaIdOfUri(uri) !== undefined)
      .slice(0, MAX_FOLLOWED_PER_STREAM);
    const anchors: Promise<void>[] = [];
    for (const uri of uris) {
      let entry = followed.get(uri);
      if (!entry) {
        const stop = new AbortController();
        let anchored!: () => void;
        const created = { streams: 0, stop, anchored: new Promise<void>((r) => (anchored = r)) };
        entry = created;
        followed.set(uri, created);
        void follow(uri, stop.signal, notify, anchored).finally(() => {
          anchored();
          if (followed.get(uri) === created) followed.delete(uri);
        });
      }
      anchors.push(entry.anchored);
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
    await Promise.all(anchors);
  };

  async function follow(
    uri: string,
    signal: AbortSignal,
    notify: ServerNotifier,
    anchored: () => void,
  ): Promise<void> {
    const sagaId = sagaIdOfUri(uri)!;
    try {
      const sagas = await backends.sagas();
      const { historyLength } = await sagas.client.workflow.getHandle(sagaId).describe();
      anchored();
      await watchSaga(sagas, sagaId, historyLength, signal, {
        onTransition: () => notify.resourceUpdated(uri),
      });
    } catch {
      // An unknown saga or a backend down: the stream stays open, nothing to report.
    }
  }
}

/**
 * `subscriptions/listen` (2026-07-28) for `saga://` resources: a listen stream that names saga URIs in
 * `notifications.resourceSubscriptions` gets `notifications/resources/updated` at each transition of those sagas,
 * from the same saga follower as the 2025-11-25 `resources/subscribe` (saga-resources.ts). SDK v2 owns the stream
 * (acknowledgement, subscription id, filtering per stream); this feeds its event bus, following each saga while at
 * least one open stream asks for it. Sagas started through this process announce `resources/list_changed`. Task ids
 * in `notifications.taskIds` (tasks extension) get `notifications/tasks` the same way (task-listen.ts).
 */
import type { McpBackends } from './backends';
import { sagaIdOfUri, watchSaga } from './saga-resources';
import { taskListenFeed } from './task-listen';

/** Most saga URIs one stream gets followed (more are acknowledged by the SDK but not fed). */
const MAX_FOLLOWED_PER_STREAM = 100;

/**
 * Starts feeding a stream; resolves once every saga it asked for is followed from its current history (the stream is
 * acknowledged after that, so no transition after the acknowledgement is missed).
 */
export type ListenFeed = (
  filter: { resourceSubscriptions?: unknown } | undefined,
  signal: AbortSignal,
  sinks: ListenSinks,
  /** Task ids the stream was agreed (the client declared the tasks extension). */
  taskIds?: string[],
) => Promise<void>;

/**
 * Where a feed's notifications go. One feed's sinks must all reach the same streams (the endpoint's event bus over
 * HTTP, the connection over stdio): a saga followed for several streams reports through the first one's sink.
 */
export interface ListenSinks {
  resourceUpdated(uri: string): void;
  /** A `notifications/tasks` for this stream (its params: the DetailedTask). */
  task(detailed: Record<string, unknown>): void;
}

/** The `saga://` URIs of a listen filter this feed follows (each one a subscription place of the token's). */
export function followedSagaUris(filter: { resourceSubscriptions?: unknown } | undefined): string[] {
  const asked = Array.isArray(filter?.resourceSubscriptions) ? filter.resourceSubscriptions : [];
  return [...new Set(asked.filter((u): u is string => typeof u === 'string'))]
    .filter((uri) => sagaIdOfUri(uri) !== undefined)
    .slice(0, MAX_FOLLOWED_PER_STREAM);
}

export function sagaListenFeed(backends: McpBackends): ListenFeed {
  const followed = new Map<string, { streams: number; stop: AbortController; anchored: Promise<void> }>();
  const followTasks = taskListenFeed(backends);
  return async (filter, signal, sinks, taskIds = []) => {
    const notify = sinks;
    const uris = followedSagaUris(filter);
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
    if (taskIds.length) anchors.push(followTasks(taskIds, signal, (detailed) => sinks.task(detailed)));
    await Promise.all(anchors);
  };

  async function follow(
    uri: string,
    signal: AbortSignal,
    notify: Pick<ListenSinks, 'resourceUpdated'>,
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

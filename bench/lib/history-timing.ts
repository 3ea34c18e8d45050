/**
 * Where a saga's time goes, read from its Temporal history: the gap between each pair of consecutive events,
 * averaged over several sagas, e.g. `WorkflowTaskScheduled → WorkflowTaskStarted` is how long a workflow task
 * waited for a worker poll, `ActivityTaskScheduled → ActivityTaskStarted` the same for an activity.
 */
import type { Client } from '@temporalio/client';

export interface GapStat {
  gap: string;
  /** Average per saga, all occurrences summed. */
  msPerSaga: number;
  occurrencesPerSaga: number;
  share: number;
}

function millis(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
}

/** The event's kind from the one `…EventAttributes` field it carries, e.g. `ActivityTaskScheduled`. */
function eventName(event: object): string {
  const key = Object.keys(event).find(
    (k) => k.endsWith('EventAttributes') && (event as Record<string, unknown>)[k] != null,
  );
  return key ? key.replace(/EventAttributes$/, '').replace(/^./, (c) => c.toUpperCase()) : 'Unknown';
}

export async function historyGaps(client: Client, workflowIds: string[]): Promise<GapStat[]> {
  const totals = new Map<string, { ms: number; count: number }>();
  let overall = 0;
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const events = history.events ?? [];
    for (let i = 1; i < events.length; i++) {
      const gap = `${eventName(events[i - 1]!)} → ${eventName(events[i]!)}`;
      const ms = millis(events[i]!.eventTime) - millis(events[i - 1]!.eventTime);
      const t = totals.get(gap) ?? { ms: 0, count: 0 };
      t.ms += ms;
      t.count++;
      totals.set(gap, t);
      overall += ms;
    }
  }
  return [...totals.entries()]
    .map(([gap, t]) => ({
      gap,
      msPerSaga: t.ms / workflowIds.length,
      occurrencesPerSaga: t.count / workflowIds.length,
      share: overall > 0 ? t.ms / overall : 0,
    }))
    .sort((a, b) => b.msPerSaga - a.msPerSaga);
}

/**
 * What the autoscaler samples from Redis per lane: how many entries wait (group lag) and how old the oldest of
 * them is (the first entry after the group's last-delivered id; acknowledged entries are deleted, so the stream
 * holds only waiting and in-flight ones).
 */
import type { RedisClient } from './redis-connections';
import { entryTime, type StreamRef } from './entries';
import { LANES, type Lane } from './keys';

export interface WaitingWork {
  waiting: number;
  oldestWaitingMs: number;
}

export async function sampleWaitingWork(
  redis: RedisClient,
  streams: StreamRef[],
  group: string,
  now = Date.now(),
): Promise<Record<Lane, WaitingWork>> {
  const out = Object.fromEntries(LANES.map((l) => [l, { waiting: 0, oldestWaitingMs: 0 }])) as Record<
    Lane,
    WaitingWork
  >;
  await Promise.all(
    streams.map(async (s) => {
      const g = await groupState(redis, s.key, group);
      if (!g) return;
      // Redis 7.0 reports no lag once entries were deleted (every ack deletes here): derive it then.
      const waiting = g.lag ?? Math.max(0, (await redis.xlen(s.key)) - g.pending);
      if (waiting === 0) return;
      const next = (await redis.call('XRANGE', s.key, `(${g.lastDeliveredId}`, '+', 'COUNT', 1)) as [
        string,
        string[],
      ][];
      const w = out[s.lane];
      w.waiting += waiting;
      if (next[0]) w.oldestWaitingMs = Math.max(w.oldestWaitingMs, now - entryTime(next[0][0]));
    }),
  );
  return out;
}

async function groupState(
  redis: RedisClient,
  stream: string,
  group: string,
): Promise<{ lag: number | undefined; pending: number; lastDeliveredId: string } | undefined> {
  let groups: unknown[];
  try {
    groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[];
  } catch {
    return undefined;
  }
  for (const g of groups) {
    const flat = g as (string | number | null)[];
    const f: Record<string, string | number | null> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) f[String(flat[i])] = flat[i + 1] ?? null;
    if (f.name !== group) continue;
    return {
      lag: f.lag === null || f.lag === undefined ? undefined : Number(f.lag),
      pending: Number(f.pending ?? 0),
      lastDeliveredId: String(f['last-delivered-id'] ?? '0-0'),
    };
  }
  return undefined;
}

/**
 * Per-lane statistics of the express lane: backlog, pending, lag, consumers, retries and dead letters, and where a
 * type has a latency objective, the fleet's attainment of it over the last minute (as its workers published it).
 */
import { LANES, type Lane, type LaneKeys } from './keys';
import { partitionTags } from './partitions';
import type { RedisClient } from './redis-connections';
import { attainmentOf, readPublishedSlo } from './slo';
import { readGroupInfo } from './stream-info';

export interface LaneStats {
  type: string;
  lane: Lane;
  /** Entries in the stream: waiting + being worked on (acknowledged entries are deleted). */
  length: number;
  /** Delivered, not yet acknowledged. */
  pending: number;
  /** Entries not yet delivered to any consumer. */
  lag: number;
  consumers: number;
  deadLetters: number;
  /** Failed attempts waiting for their retry backoff. */
  delayed: number;
  /** The type's latency objective in this lane, ms from enqueue to outcome (absent: none, or no worker running). */
  sloMs?: number;
  /**
   * Share of the last minute's tasks that met `sloMs`, over every worker that published in the last few seconds
   * (absent with `sloMs` when none finished); `sloTasks` is how many outcomes that share is of.
   */
  attainment?: number;
  sloTasks?: number;
}

/** Per type and lane, summed over the type's stream partitions (`partitionsOf`; consumers: the most of any). */
export async function collectLaneStats(
  redis: RedisClient,
  keys: LaneKeys,
  group: string,
  types: string[],
  partitionsOf: (type: string) => number = () => 1,
): Promise<LaneStats[]> {
  const rows: LaneStats[] = [];
  const slos = new Map(
    await Promise.all(
      types.map(async (type) => [type, await readPublishedSlo(redis, keys.sloAttainment(type))] as const),
    ),
  );
  await Promise.all(
    types.flatMap((type) =>
      LANES.map(async (lane) => {
        const parts = await Promise.all(
          partitionTags(type, partitionsOf(type)).map(async (tag) => {
            const stream = keys.stream(tag, lane);
            const [length, deadLetters, delayed, info] = await Promise.all([
              redis.xlen(stream),
              redis.xlen(keys.deadLetters(tag, lane)),
              redis.zcard(keys.delayed(tag, lane)),
              readGroupInfo(redis, stream, group),
            ]);
            const pending = info?.pending ?? 0;
            return {
              length,
              pending,
              lag: info?.lag ?? Math.max(0, length - pending),
              consumers: info?.consumers ?? 0,
              deadLetters,
              delayed,
            };
          }),
        );
        const sum = (f: (p: (typeof parts)[number]) => number) => parts.reduce((n, p) => n + f(p), 0);
        rows.push({
          type,
          lane,
          length: sum((p) => p.length),
          pending: sum((p) => p.pending),
          lag: sum((p) => p.lag),
          consumers: Math.max(...parts.map((p) => p.consumers)),
          deadLetters: sum((p) => p.deadLetters),
          delayed: sum((p) => p.delayed),
          ...sloColumns(slos.get(type)?.[lane]),
        });
      }),
    ),
  );
  const order = (r: LaneStats) => `${r.type}\u0000${LANES.indexOf(r.lane)}`;
  return rows.sort((a, b) => order(a).localeCompare(order(b)));
}

function sloColumns(
  slo: { objectiveMs: number; met: number; total: number } | undefined,
): Pick<LaneStats, 'sloMs' | 'attainment' | 'sloTasks'> {
  if (!slo) return {};
  const attainment = attainmentOf(slo);
  return { sloMs: slo.objectiveMs, sloTasks: slo.total, ...(attainment !== undefined ? { attainment } : {}) };
}

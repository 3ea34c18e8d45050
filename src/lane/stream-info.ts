/** Reading consumer-group facts (XINFO GROUPS) in a shape the client's stats and the autoscaler share. */
import type { RedisClient } from './redis-connections';

export interface GroupInfo {
  consumers: number;
  pending: number;
  /** Undelivered entries; `undefined` when Redis cannot tell (it then reports a null lag). */
  lag: number | undefined;
}

export async function readGroupInfo(
  redis: RedisClient,
  stream: string,
  group: string,
): Promise<GroupInfo | undefined> {
  let groups: unknown[];
  try {
    groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[];
  } catch (err) {
    if (/no such key/i.test((err as Error).message)) return undefined;
    throw err;
  }
  for (const g of groups) {
    const flat = g as (string | number | null)[];
    const fields: Record<string, string | number | null> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = flat[i + 1] ?? null;
    if (fields.name !== group) continue;
    return {
      consumers: Number(fields.consumers ?? 0),
      pending: Number(fields.pending ?? 0),
      lag: fields.lag === null || fields.lag === undefined ? undefined : Number(fields.lag),
    };
  }
  return undefined;
}

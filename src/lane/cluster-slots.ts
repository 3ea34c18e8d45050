/**
 * What the lane needs to know about Redis Cluster slots: which streams one command may name together (a command
 * and a script touch one slot), and running a keyspace SCAN on every master (a SCAN reaches only the node it is
 * sent to).
 */
import calculateSlot from 'cluster-key-slot';
import { isCluster, type RedisClient } from './redis-connections';

export { calculateSlot };

/** Items grouped by the slot of `keyOf(item)`, in first-seen order (one group per slot). */
export function groupBySlot<T>(items: T[], keyOf: (item: T) => string): T[][] {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const slot = calculateSlot(keyOf(item));
    const group = groups.get(slot);
    if (group) group.push(item);
    else groups.set(slot, [item]);
  }
  return [...groups.values()];
}

/**
 * Every key matching `pattern`, in batches, from the one Redis or from every master of a Cluster. `onKeys` may
 * return true to stop early.
 */
export async function scanKeys(
  redis: RedisClient,
  pattern: string,
  onKeys: (keys: string[]) => Promise<boolean | void> | boolean | void,
  count = 1000,
): Promise<void> {
  // A Cluster knows its masters only once it is ready: before that `nodes('master')` holds connections that are
  // not open yet, and a SCAN on one fails with "Connection is closed". One command waits for the slot map.
  if (isCluster(redis) && redis.status !== 'ready') await redis.ping();
  const nodes = isCluster(redis) ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length && (await onKeys(keys)) === true) return;
    } while (cursor !== '0');
  }
}

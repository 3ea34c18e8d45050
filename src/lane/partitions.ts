/**
 * Stream partitions: a hot task type split into N streams per lane, each with a hash tag of its own (`{type}` for
 * partition 0, `{type~1}` … `{type~N-1}` for the others), so on a Redis Cluster one type's work spreads over slots
 * and shards instead of loading one master. Partition 0 keeps the unpartitioned names, so `partitions: 1` is the
 * lane as it always was.
 *
 * Everything a task owns lives in its partition (stream, record, idempotency key, retries, dead letters,
 * completion channel), and its id names the partition (`type~2:<uuid>`), so every script still touches one slot and
 * any holder of an id finds its keys. Producers spread tasks by idempotency key (the same key always lands in the
 * same partition, so idempotency holds) or else round robin; workers read every partition of the types they serve,
 * express before standard across all of them (the lane buffers are per lane, not per stream).
 */
import type { StreamRef } from './entries';
import { LANES, type LaneKeys } from './keys';
import type { TaskType } from './task-types';

/** The hash tag of partition `p` of `type`. */
export function partitionTag(type: string, p: number): string {
  return p === 0 ? type : `${type}~${p}`;
}

/** Every partition tag of a type, partition 0 first. */
export function partitionTags(type: string, partitions: number): string[] {
  return Array.from({ length: partitions }, (_, p) => partitionTag(type, p));
}

/** FNV-1a (32 bit): a stable spread of idempotency keys over partitions, the same in every process. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Picks a partition per submission: by idempotency key when there is one, else round robin per type. */
export class PartitionChooser {
  private readonly next = new Map<string, number>();

  choose(type: string, partitions: number, idempotencyKey?: string): number {
    if (partitions <= 1) return 0;
    if (idempotencyKey !== undefined) return fnv1a(idempotencyKey) % partitions;
    const p = this.next.get(type) ?? 0;
    this.next.set(type, (p + 1) % partitions);
    return p;
  }
}

/**
 * The streams a worker serving `types` reads: per type, per partition, per lane. A partition's StreamRef names
 * its tag as the type's name (the handler and defaults are the type's own), so every key the worker derives from
 * it (dead letters, retries, completions, task records) is the partition's.
 */
export function partitionStreams(keys: LaneKeys, types: TaskType[]): StreamRef[] {
  return types.flatMap((type) =>
    partitionTags(type.name, type.defaults.partitions).flatMap((tag) => {
      const ref: TaskType = tag === type.name ? type : { ...type, name: tag };
      return LANES.map((lane) => ({ key: keys.stream(tag, lane), type: ref, lane }));
    }),
  );
}

/**
 * Dead letters of a partitioned type are listed together; a letter of partition p > 0 carries the id `p:<entry id>`
 * so `retryDead` / `purgeDead` know its stream. Partition 0's ids are the plain entry ids.
 */
export function qualifiedDeadLetterId(p: number, entryId: string): string {
  return p === 0 ? entryId : `${p}:${entryId}`;
}

export function parseDeadLetterId(id: string): { partition: number; entryId: string } {
  const m = /^(\d{1,2}):(.+)$/.exec(id);
  return m ? { partition: Number(m[1]), entryId: m[2]! } : { partition: 0, entryId: id };
}

/** The task type and partition a stream tag names (`hot~2` → hot, 2; `hot` → hot, 0). */
export function splitPartitionTag(tag: string): { type: string; partition: number } {
  const i = tag.lastIndexOf('~');
  return i < 0 ? { type: tag, partition: 0 } : { type: tag.slice(0, i), partition: Number(tag.slice(i + 1)) };
}

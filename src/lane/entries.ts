/** What the worker's modules pass around: the streams it reads, the entries it holds, and reading them. */
import type { Lane } from './keys';
import type { TaskType } from './task-types';

/** One stream this worker reads: a task type's lane. */
export interface StreamRef {
  key: string;
  type: TaskType;
  lane: Lane;
}

export type Fields = Record<string, string>;

/** A stream entry this consumer holds (buffered or running). */
export interface Entry {
  stream: StreamRef;
  id: string;
  fields: Fields;
  /** Claimed by the janitor from a consumer that died: an earlier delivery of it may have run. */
  reclaimed?: boolean;
  /** The group's delivery count of a reclaimed entry (this claim included); a fresh read is the first. */
  deliveries?: number;
}

/** The `reason` of a dead letter, per cause. */
export const DEAD_REASONS = {
  malformed: 'malformed-entry',
  invalidPayload: 'invalid-payload',
  attempts: 'max-attempts',
  unrecoverable: 'unrecoverable',
  nonRetryable: 'non-retryable',
  memory: 'memory-limit',
  deliveries: 'max-deliveries',
  entryDeleted: 'entry-deleted',
  resultTooLarge: 'result-too-large',
} as const;

/**
 * An entry's fields by name, with the packed `m` ("attempt max timeout at", scripts.ts ENTRY_FIELDS) read into
 * `attempt`, `max`, `timeout` and `at`, so the rest of the worker sees one shape for both entry forms.
 */
export function toFields(flat: string[] | null): Fields {
  const f: Fields = {};
  if (!flat) return f;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i]!;
    if (name !== 'm') {
      f[name] = flat[i + 1]!;
      continue;
    }
    // Empty parts stay absent, so a short `m` is as malformed as an entry lacking the fields.
    const [attempt, max, timeout, at] = flat[i + 1]!.split(' ');
    if (attempt) f.attempt = attempt;
    if (max) f.max = max;
    if (timeout) f.timeout = timeout;
    if (at) f.at = at;
  }
  return f;
}

const PACKED = new Set(['attempt', 'max', 'timeout', 'at']);

/** Fields as field/value pairs of the packed form (what a hand-back re-adds); fields it does not know are kept. */
export function packedFields(f: Fields): string[] {
  const flat: string[] = [];
  for (const [k, v] of Object.entries(f)) if (!PACKED.has(k)) flat.push(k, v);
  if (f.attempt !== undefined)
    flat.push('m', [f.attempt, f.max ?? '', f.timeout ?? '', f.at ?? ''].join(' '));
  return flat;
}

/** Milliseconds part of a stream entry id: when Redis appended it. */
export function entryTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/** Deliveries an entry had before it was handed back and re-added (its `dlv` field). */
export function priorDeliveries(fields: Fields): number {
  const n = Number(fields.dlv ?? 0);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/**
 * Whether an earlier delivery of this entry may have run its task: it was reclaimed from a consumer that died, handed
 * back by a stopping one (`dlv`), or replayed from the dead letters (`rp`). A fresh read of a new entry is not.
 */
export function mayHaveRunBefore(entry: Entry): boolean {
  return entry.reclaimed === true || priorDeliveries(entry.fields) > 0 || entry.fields.rp === '1';
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/**
 * Janitor and keepalive: what keeps entries moving when consumers die.
 *
 * - Keepalive: this consumer re-claims the entries it holds (XCLAIM … JUSTID, no delivery counted) every
 *   `keepaliveIntervalMs`, so a short `minIdleMs` flags only entries of dead consumers.
 * - Sweep, every `janitorIntervalMs`: promotes due retries, then claims orphans (entries idle past `minIdleMs`)
 *   into this consumer's free slots only, walking each stream's pending list with a cursor kept across sweeps
 *   (one SWEEP script call for all streams on a single Redis, one per slot on a Cluster: no XPENDING per entry). An orphan delivered `maxDeliveries` times is
 *   dead-lettered instead of run again; one on its last delivery is claimed alone and run in isolation (see
 *   RECLAIM), so an innocent task that shared a process with a poison one is not dead-lettered with it; one whose
 *   stream entry was deleted ends its task `dead`.
 * - Consumers idle past `staleConsumerMs` with nothing pending are removed from the group.
 */
import { isCluster, type RedisClient } from './redis-connections';
import type { Logger } from '../logger';
import { groupBySlot, scanKeys } from './cluster-slots';
import { DEAD_REASONS, priorDeliveries, type StreamRef } from './entries';
import type { LaneKeys } from './keys';
import type { OutcomeWriter } from './outcome-writer';
import { CHECK_RECORD, KEEPALIVE, PROMOTE, SWEEP } from './janitor-scripts';
import { runScript } from './scripts';
import { entryOf, type StreamReader } from './stream-reader';

/** Due retries one sweep moves back into a stream, at most. */
const PROMOTE_LIMIT = 500;
/** Pending entries one sweep looks at per stream. */
const SCAN_PER_SWEEP = 200;
/** How often (in sweeps) stale consumers are looked for. */
const STALE_CHECK_EVERY = 60;

export interface JanitorOptions {
  group: string;
  consumerName: string;
  minIdleMs: number;
  maxDeliveries: number;
  staleConsumerMs: number;
  deadLetterMaxLen: number;
  /** How long a task's record stays after it ends (a task PROMOTE ends dead expires like any other). */
  retentionMs: number;
  /** How long a live task's record lasts without renewal (the record check renews it). */
  taskLifetimeMs: number;
  log: Logger;
  /** A held entry's stream entry was deleted (keepalive found it): the worker ends its task. */
  onHeldEntryDeleted: (entry: { stream: StreamRef; id: string }) => void;
  onReclaimed: (stream: StreamRef, count: number) => void;
  /**
   * A part of the sweep failed (`stream` is undefined when the whole SWEEP call failed, e.g. Redis down). The sweep
   * of the other streams and groups went on; the next sweep tries again.
   */
  onSweepError: (failure: { stage: JanitorStage; stream?: StreamRef; error: string }) => void;
}

/** Which part of the janitor's sweep failed (the label of `sagalane_janitor_errors_total`). */
export type JanitorStage = 'promote' | 'reclaim' | 'sweep';

/** A RECLAIM claim: entry id, deliveries (this claim included), fields, the consumer that held it. */
type ClaimedEntry = [string, number, string[], string];

/** How long the record of when a consumer's entries were reclaimed is kept after the last reclaim. */
const RECLAIMED_CONSUMERS_TTL_MS = 24 * 3_600_000;

export class Janitor {
  private readonly cursors = new Map<string, string>();
  private groups: StreamRef[][] | undefined;
  private busy = false;
  private sweeps = 0;

  constructor(
    private readonly cmd: RedisClient,
    private readonly keys: LaneKeys,
    private readonly streams: StreamRef[],
    private readonly reader: StreamReader,
    private readonly writer: OutcomeWriter,
    private readonly o: JanitorOptions,
  ) {
    this.retentionSec = Math.ceil(o.retentionMs / 1000);
  }

  private readonly retentionSec: number;

  /** Keepalive script calls and entries refreshed so far (what keepalive costs Redis). */
  readonly keepaliveCounts = { calls: 0, ids: 0 };

  /** Re-claims this consumer's held entries so their idle time stays far below minIdleMs. */
  async keepAlive(): Promise<void> {
    await Promise.all(
      this.streams.map(async (s) => {
        const ids = [...(this.reader.held.get(s.key) ?? [])];
        if (!ids.length) return;
        this.keepaliveCounts.calls++;
        this.keepaliveCounts.ids += ids.length;
        const [lost, missing] = (await runScript(
          this.cmd,
          KEEPALIVE,
          [s.key],
          [this.o.group, this.o.consumerName, ...ids],
        )) as [string[], string[]];
        if (lost.length) this.o.log.warn('in-flight entries were reclaimed by another consumer', { lost });
        for (const id of missing) this.o.onHeldEntryDeleted({ stream: s, id });
      }),
    );
  }

  /**
   * Promotes due retries and reclaims orphans, one SWEEP call per slot group of streams (one call in all on a single
   * Redis); skipped while the previous sweep still runs.
   */
  async sweep(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const group of this.sweepGroups()) {
        // One group's failure (its Redis shard down, a script error) never stops the sweep of the others.
        try {
          await this.sweepGroup(group);
        } catch (err) {
          this.failed('sweep', undefined, err);
        }
      }
      if (++this.sweeps % STALE_CHECK_EVERY === 1) await this.removeStaleConsumers();
    } finally {
      this.busy = false;
    }
  }

  /** The streams one SWEEP may name together: all of them, or those of one slot on a Cluster (in stream order). */
  private sweepGroups(): StreamRef[][] {
    this.groups ??= isCluster(this.cmd) ? groupBySlot(this.streams, (s) => s.key) : [this.streams];
    return this.groups;
  }

  private async sweepGroup(streams: StreamRef[]): Promise<void> {
    const keys: string[] = [];
    const perStream: string[] = [];
    for (const s of streams) {
      keys.push(this.keys.delayed(s.type.name, s.lane), s.key, this.keys.deadLetters(s.type.name, s.lane));
      perStream.push(
        this.keys.taskPrefix(s.type.name),
        this.cursors.get(s.key) ?? '0-0',
        this.keys.completions(s.type.name),
      );
    }
    const results = (await runScript(this.cmd, SWEEP, keys, [
      Date.now(),
      PROMOTE_LIMIT,
      this.o.deadLetterMaxLen,
      this.o.group,
      this.o.consumerName,
      this.o.minIdleMs,
      this.reader.freeSlots(),
      SCAN_PER_SWEEP,
      this.o.maxDeliveries,
      this.retentionSec,
      ...perStream,
    ])) as [number, string, ClaimedEntry[], string[], 0 | 1, string, string][];
    for (const [i, s] of streams.entries()) {
      const [, next, claimed, missing, isolated, promoteError, reclaimError] = results[i]!;
      if (promoteError) this.failed('promote', s, promoteError);
      if (reclaimError) this.failed('reclaim', s, reclaimError);
      try {
        await this.takeClaims(s, next, claimed, missing, isolated === 1);
      } catch (err) {
        this.failed('reclaim', s, err);
      }
    }
  }

  private failed(stage: JanitorStage, stream: StreamRef | undefined, err: unknown): void {
    const error = typeof err === 'string' ? err : ((err as Error)?.message ?? String(err));
    this.o.log.warn('janitor sweep failed', {
      stage,
      ...(stream ? { type: stream.type.name, lane: stream.lane } : {}),
      error,
    });
    this.o.onSweepError({ stage, stream, error });
  }

  async promote(s: StreamRef): Promise<number> {
    return (await runScript(
      this.cmd,
      PROMOTE,
      [this.keys.delayed(s.type.name, s.lane), s.key, this.keys.deadLetters(s.type.name, s.lane)],
      [
        Date.now(),
        PROMOTE_LIMIT,
        this.o.deadLetterMaxLen,
        this.keys.taskPrefix(s.type.name),
        this.retentionSec,
        this.keys.completions(s.type.name),
      ],
    )) as number;
  }

  /**
   * What the sweep claimed in one stream for this consumer (RECLAIM's reply): dead-letter, isolate or buffer each
   * entry. `isolated`: the one claim is a last-chance entry, to run alone.
   */
  private async takeClaims(
    s: StreamRef,
    next: string,
    claimed: ClaimedEntry[],
    missing: string[],
    isolated: boolean,
  ): Promise<void> {
    this.cursors.set(s.key, next);
    if (missing.length) await this.endVanishedTasks(s, missing);
    let reclaimed = 0;
    if (claimed.length) await this.noteReclaimedFrom(claimed.map((c) => c[3]));
    for (const [id, deliveries, flat] of claimed) {
      const entry = entryOf(s, id, flat);
      entry.reclaimed = true;
      entry.deliveries = deliveries;
      this.reader.hold(s, id);
      // This claim counted as a delivery, so the runs so far are deliveries - 1 (plus any before a hand-back).
      const runs = deliveries - 1 + priorDeliveries(entry.fields);
      if (runs >= this.o.maxDeliveries) {
        await this.writer.deadLetter(
          entry,
          DEAD_REASONS.deliveries,
          `delivered ${runs} times without finishing (its consumer died each time)`,
          Number(entry.fields.attempt) || 0,
        );
        this.reader.release(entry);
        continue;
      }
      reclaimed++;
      // Its last chance (RECLAIM claimed it alone): it runs by itself, so only its own crash can count against it.
      if (isolated) this.reader.isolate(entry);
      else this.reader.buffer(entry);
    }
    if (reclaimed) {
      this.o.log.info('reclaimed orphaned entries', { type: s.type.name, lane: s.lane, count: reclaimed });
      this.o.onReclaimed(s, reclaimed);
    }
  }

  /**
   * When the entries of these (dead) consumers were reclaimed, for the board: one HSET per sweep that claimed
   * something (rare: only after a consumer died), kept a day after the last. A failure here is logged, never fatal.
   */
  private async noteReclaimedFrom(consumers: (string | undefined)[]): Promise<void> {
    const now = String(Date.now());
    const names = [...new Set(consumers.filter((c): c is string => !!c))];
    if (names.length === 0) return;
    const key = this.keys.reclaimedConsumers();
    try {
      await this.cmd
        .multi()
        .hset(key, ...names.flatMap((n) => [n, now]))
        .pexpire(key, RECLAIMED_CONSUMERS_TTL_MS)
        .exec();
    } catch (err) {
      this.o.log.warn('could not note the reclaimed consumers', { error: (err as Error).message });
    }
  }

  /**
   * Pending entries whose stream entry was deleted (by hand, or trimmed): no consumer can run them, so their tasks
   * end `dead` with the reason. The entry is gone with its task id, so the type's queued/running records are
   * searched for the one pointing at it (`entry` field; SCAN, rare).
   */
  private async endVanishedTasks(s: StreamRef, entryIds: string[]): Promise<void> {
    const wanted = new Set(entryIds);
    const found = await findTasksByEntry(this.cmd, this.keys.taskPrefix(s.type.name), wanted);
    for (const id of entryIds) {
      const taskId = found.get(id);
      this.o.log.warn('pending entry no longer exists in the stream; its task is dead', {
        entry: id,
        taskId,
      });
      if (!taskId) continue;
      await this.writer.deadLetter(
        { stream: s, id, fields: { id: taskId, payload: 'null' } },
        DEAD_REASONS.entryDeleted,
        `stream entry ${id} was deleted while pending; the payload is lost`,
        0,
        { fenced: false },
      );
    }
  }

  /**
   * Walks every task record of the streams' types (SCAN; every `recordCheckIntervalMs`): renews the expiry of the live
   * ones (queued, running) and ends a queued task whose stream entry was deleted before any worker read it
   * (CHECK_RECORD, `entry-deleted`). Finished records are skipped by their status. Returns the tasks it ended.
   */
  async checkRecords(): Promise<number> {
    let ended = 0;
    const tags = [...new Set(this.streams.map((s) => s.type.name))];
    for (const tag of tags) {
      const prefix = this.keys.taskPrefix(tag);
      await scanKeys(this.cmd, `${prefix}*`, async (keys) => {
        const statuses = await Promise.all(keys.map((k) => this.cmd.hget(k, 'status').catch(() => null)));
        for (const [i, key] of keys.entries()) {
          if (statuses[i] !== 'queued' && statuses[i] !== 'running') continue;
          const taskId = key.slice(prefix.length);
          const r = await runScript(
            this.cmd,
            CHECK_RECORD,
            [
              key,
              this.keys.stream(tag, 'express'),
              this.keys.stream(tag, 'standard'),
              this.keys.deadLetters(tag, 'express'),
              this.keys.deadLetters(tag, 'standard'),
            ],
            [
              Date.now(),
              Math.ceil(this.o.taskLifetimeMs / 1000),
              this.retentionSec,
              this.keys.completions(tag),
              this.o.deadLetterMaxLen,
              taskId,
            ],
          );
          if (r === 1) {
            ended++;
            this.o.log.warn('queued task whose stream entry was deleted unread is dead', { taskId });
          }
        }
        return false;
      });
    }
    return ended;
  }

  /** Removes consumers idle past staleConsumerMs that hold nothing (each restart adds one otherwise). */
  async removeStaleConsumers(): Promise<number> {
    let removed = 0;
    for (const s of this.streams) {
      let consumers: unknown[];
      try {
        consumers = (await this.cmd.call('XINFO', 'CONSUMERS', s.key, this.o.group)) as unknown[];
      } catch {
        continue;
      }
      for (const c of consumers) {
        const f = c as (string | number)[];
        const info: Record<string, string | number> = {};
        for (let i = 0; i + 1 < f.length; i += 2) info[String(f[i])] = f[i + 1]!;
        const name = String(info.name);
        if (name === this.o.consumerName || Number(info.pending) > 0) continue;
        if (Number(info.idle) < this.o.staleConsumerMs) continue;
        await this.cmd.call('XGROUP', 'DELCONSUMER', s.key, this.o.group, name);
        removed++;
        this.o.log.info('removed a stale consumer from the group', { stream: s.key, consumer: name });
      }
    }
    return removed;
  }
}

/** Entry id → task id, for not-yet-final task records whose `entry` field is one of `entryIds`. */
export async function findTasksByEntry(
  redis: RedisClient,
  taskPrefix: string,
  entryIds: Set<string>,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  await scanKeys(redis, `${taskPrefix}*`, async (keys) => {
    const rows = await Promise.all(keys.map((k) => redis.hmget(k, 'entry', 'status')));
    rows.forEach(([entry, status], i) => {
      if (entry && entryIds.has(entry) && status !== 'succeeded' && status !== 'dead')
        found.set(entry, keys[i]!.slice(taskPrefix.length));
    });
    return found.size >= entryIds.size;
  });
  return found;
}

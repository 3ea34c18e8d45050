/**
 * Reading and capacity: the worker's slot counts, the entries it buffers and holds, and the blocking read loops
 * that fill the buffers within the room the slot policy allows.
 *
 * Each lane has its own connection with two read loops on it: while one batch runs, the next read is already on
 * its way. A loop with no room waits to be woken (a slot freed, capacity changed, or stopping) instead of polling.
 *
 * On a Redis Cluster one XREADGROUP may only name streams of one slot, so each lane's streams are split into slot
 * groups, each read by its own loops on its own connection: a blocking command holds the socket it is sent on, and
 * an ioredis Cluster sends every command for a node on one shared socket per node, so a blocking read on the
 * command connection would stall every other command to that master. Each group's reads ask for a share of the
 * lane's room (room / groups, at least 1), so a group blocked on an empty stream never keeps another group's
 * entries waiting, and all groups together read at most about the room.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Cluster } from 'ioredis';
import type { Logger } from '../logger';
import { groupBySlot } from './cluster-slots';
import { type Entry, entryTime, type StreamRef, toFields } from './entries';
import { LANES, taskIdOfType, type Lane } from './keys';
import { isCluster, isConnectionError, type RedisClient } from './redis-connections';
import {
  isOverdue,
  nextLane,
  readAhead,
  READ_AHEAD_MAX_RUN_MS,
  readBatch,
  readRoom,
  type SlotCounts,
} from './slot-policy';

export interface StreamReaderOptions {
  group: string;
  consumerName: string;
  blockMs: number;
  expressReserve: number;
  concurrency: number;
  streams: StreamRef[];
  /**
   * Aging: a standard entry waiting longer than this starts ahead of express work; per type
   * `defaults.maxWaitMs` wins. 0 (or unset) is off.
   */
  maxWaitMs?: number;
  log: Logger;
  /** Called after entries were buffered (the worker dispatches them). */
  onEntries: () => void;
  /** Called when a read finds a consumer group missing (Redis lost its data): recreate the groups. */
  onNoGroup: () => Promise<void>;
}

/** Streams of one lane that one XREADGROUP may name together (one slot on a Cluster; all of them otherwise). */
interface ReadGroup {
  lane: Lane;
  streams: StreamRef[];
  /** Entries asked for by this group's reads still outstanding. */
  requested: number;
  /** How many groups share the lane's room. */
  share: number;
}

/**
 * The entry as the worker holds it. An id naming another task type is dropped (the entry is then malformed and
 * dead-lettered): every task key the worker derives from an id must be the stream's type's, in the stream's slot.
 */
export function entryOf(stream: StreamRef, id: string, flat: string[] | null): Entry {
  const fields = toFields(flat);
  if (fields.id !== undefined && !taskIdOfType(fields.id, stream.type.name)) {
    fields.foreignId = fields.id;
    delete fields.id;
  }
  return { stream, id, fields };
}

export class StreamReader {
  concurrency: number;
  readonly expressReserve: number;
  readonly buffered: Record<Lane, Entry[]> = { express: [], standard: [] };
  readonly running: Record<Lane, number> = { express: 0, standard: 0 };
  /** Tasks whose handler settled but whose outcome write is outstanding (they hold no slot). */
  settling = 0;
  /** Entries this consumer holds (buffered or running), per stream key: what keepalive re-claims. */
  readonly held = new Map<string, Set<string>>();
  private readonly requested: Record<Lane, number> = { express: 0, standard: 0 };
  private readonly streamsByLane: Record<Lane, StreamRef[]>;
  private readonly byKey = new Map<string, StreamRef>();
  private readonly wakeWaiters = new Set<() => void>();
  /**
   * Moving average of handler run time per lane: decides whether reading ahead pays. Starts just above the
   * threshold, so a fresh worker does not grab a second batch of what may be long tasks.
   */
  private readonly avgRunMs: Record<Lane, number> = {
    express: READ_AHEAD_MAX_RUN_MS + 1,
    standard: READ_AHEAD_MAX_RUN_MS + 1,
  };
  private stopping = false;
  /**
   * An entry on its last delivery, claimed by the janitor: while it is set, nothing is read or started, it starts
   * once the running tasks have ended, and it ends when its outcome is stored (`release`).
   */
  private isolated: Entry | undefined;
  /** Aging's `maxWaitMs` of each standard stream that has one (per type, else the worker's). */
  private readonly maxWaitMsByStream = new Map<string, number>();
  /**
   * Earliest time a buffered standard entry may be overdue (Infinity: none). Never later than the truth (`buffer`
   * lowers it), sometimes earlier (an entry it counted has gone): then the next look rescans and raises it, so a
   * flood of express starts costs one comparison each, not a scan of the standard buffer.
   */
  private nextOverdueAt = Infinity;
  /** What `nextLane` reads, kept live instead of rebuilt per call. */
  private readonly waiting = { express: false, standard: false, standardOverdue: false };
  /** Read connections of the slot groups beyond each lane's first (Cluster only); closed by `stop()`. */
  private readonly groupConnections: Cluster[] = [];

  constructor(private readonly o: StreamReaderOptions) {
    this.concurrency = o.concurrency;
    this.expressReserve = o.expressReserve;
    this.startCounts.expressReserve = o.expressReserve;
    this.streamsByLane = {
      express: o.streams.filter((s) => s.lane === 'express'),
      standard: o.streams.filter((s) => s.lane === 'standard'),
    };
    for (const s of o.streams) {
      this.byKey.set(s.key, s);
      this.held.set(s.key, new Set());
      const maxWaitMs = s.type.defaults.maxWaitMs ?? o.maxWaitMs ?? 0;
      if (s.lane === 'standard' && maxWaitMs > 0) this.maxWaitMsByStream.set(s.key, maxWaitMs);
    }
  }

  get inFlight(): number {
    return this.running.express + this.running.standard;
  }

  counts(): SlotCounts {
    return {
      concurrency: this.concurrency,
      expressReserve: this.expressReserve,
      running: this.running,
      buffered: { express: this.buffered.express.length, standard: this.buffered.standard.length },
      requested: this.requested,
      settling: this.settling,
      expressReadAhead: readAhead(this.avgRunMs.express, this.concurrency),
      standardReadAhead: readAhead(this.avgRunMs.standard, this.concurrency),
    };
  }

  /** Slots free right now (what the janitor may claim orphans into). */
  freeSlots(): number {
    if (this.isolated) return 0;
    return Math.max(
      0,
      this.concurrency - this.inFlight - this.buffered.express.length - this.buffered.standard.length,
    );
  }

  recordRun(lane: Lane, ms: number): void {
    this.avgRunMs[lane] += (ms - this.avgRunMs[lane]) / 8;
  }

  /**
   * The next buffered entry allowed to start (an overdue standard one, then express, then standard), or undefined.
   * Called once per task: no allocation, and without aging no clock read.
   */
  takeStartable(): Entry | undefined {
    const express = this.buffered.express;
    const standard = this.buffered.standard;
    if (!express.length && !standard.length) return undefined;
    if (this.isolated) return this.takeIsolated();
    this.startCounts.concurrency = this.concurrency;
    // Only when express work would otherwise go first does an overdue standard entry matter.
    const overdue =
      this.maxWaitMsByStream.size && express.length && standard.length
        ? this.overdueStandard(Date.now())
        : -1;
    this.waiting.express = express.length > 0;
    this.waiting.standard = standard.length > 0;
    this.waiting.standardOverdue = overdue >= 0;
    const lane = nextLane(this.startCounts, this.waiting);
    if (lane === 'express') return express.shift();
    if (lane !== 'standard') return undefined;
    if (overdue < 0) return standard.shift();
    const entry = standard.splice(overdue, 1)[0];
    this.nextOverdueAt = -Infinity; // rescan on the next look
    return entry;
  }

  /** Index of the first buffered standard entry past its `maxWaitMs` at `now`, or -1; keeps `nextOverdueAt`. */
  private overdueStandard(now: number): number {
    if (now < this.nextOverdueAt) return -1;
    let found = -1;
    let next = Infinity;
    const standard = this.buffered.standard;
    for (let i = 0; i < standard.length; i++) {
      const entry = standard[i]!;
      const maxWaitMs = this.maxWaitMsByStream.get(entry.stream.key);
      if (maxWaitMs === undefined) continue;
      const enqueuedAt = entryTime(entry.id);
      if (found < 0 && isOverdue(enqueuedAt, maxWaitMs, now)) found = i;
      next = Math.min(next, enqueuedAt + maxWaitMs);
    }
    this.nextOverdueAt = next;
    return found;
  }

  /** What `canStart` reads (it looks at running counts and capacity only), kept live instead of rebuilt per call. */
  private readonly startCounts: Pick<SlotCounts, 'concurrency' | 'expressReserve' | 'running'> = {
    concurrency: 0,
    expressReserve: 0,
    running: this.running,
  };

  /** Holds a last-chance entry to run alone (see `isolated`). */
  isolate(entry: Entry): void {
    this.isolated = entry;
    this.buffer(entry);
  }

  private takeIsolated(): Entry | undefined {
    if (this.inFlight > 0) return undefined;
    const buffer = this.buffered[this.isolated!.stream.lane];
    const i = buffer.indexOf(this.isolated!);
    // Not buffered any more (handed back or its stream entry deleted): it was released, so isolation has ended.
    return i < 0 ? undefined : buffer.splice(i, 1)[0];
  }

  buffer(entry: Entry): void {
    this.hold(entry.stream, entry.id);
    this.buffered[entry.stream.lane].push(entry);
    const maxWaitMs = this.maxWaitMsByStream.size ? this.maxWaitMsByStream.get(entry.stream.key) : undefined;
    if (maxWaitMs !== undefined)
      this.nextOverdueAt = Math.min(this.nextOverdueAt, entryTime(entry.id) + maxWaitMs);
  }

  hold(stream: StreamRef, id: string): void {
    this.held.get(stream.key)?.add(id);
  }
  release(entry: Entry): void {
    this.held.get(entry.stream.key)?.delete(entry.id);
    if (this.isolated && this.isolated.id === entry.id && this.isolated.stream.key === entry.stream.key) {
      this.isolated = undefined;
      this.wake();
    }
  }

  /**
   * Runs the read loops until `stop()`: two per lane, each lane on its own connection (`readers[i]` = LANES[i]);
   * on a Cluster two per slot group of the lane, each group on its own connection (the lane's first group on
   * `readers[i]`, the others on duplicates of it).
   */
  run(readers: RedisClient[]): Promise<void> {
    return Promise.all(
      LANES.flatMap((lane, i) => {
        const reader = readers[i]!;
        const streams = this.streamsByLane[lane];
        const slotGroups = isCluster(reader) ? groupBySlot(streams, (s) => s.key) : [streams];
        return slotGroups.flatMap((groupStreams, g) => {
          const group: ReadGroup = { lane, streams: groupStreams, requested: 0, share: slotGroups.length };
          const connection = g === 0 || !isCluster(reader) ? reader : this.groupConnection(reader, lane, g);
          return [this.readLoop(group, connection), this.readLoop(group, connection)];
        });
      }),
    ).then(() => undefined);
  }

  private groupConnection(reader: Cluster, lane: Lane, g: number): Cluster {
    const connection = reader.duplicate([], {
      redisOptions: { ...reader.options.redisOptions, connectionName: `sagalane-reader-${lane}-${g}` },
    });
    connection.on('error', (err: Error) =>
      this.o.log.warn('redis reader connection error', { lane, group: g, error: err.message }),
    );
    this.groupConnections.push(connection);
    return connection;
  }

  stop(): void {
    this.stopping = true;
    this.wake();
    // Blocked reads end with their connections (the caller closes `readers`, these are the reader's own).
    for (const c of this.groupConnections.splice(0)) c.disconnect();
  }

  /** Lets waiting read loops re-evaluate their room. */
  wake(): void {
    if (this.wakeWaiters.size === 0) return;
    const waiters = [...this.wakeWaiters];
    this.wakeWaiters.clear();
    for (const w of waiters) w();
  }

  private waitForWake(): Promise<void> {
    // stop() wakes the waiters once; a loop arriving after that must not wait forever.
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => this.wakeWaiters.add(resolve));
  }

  private async readLoop(group: ReadGroup, reader: RedisClient): Promise<void> {
    const lane = group.lane;
    let failures = 0;
    while (!this.stopping) {
      try {
        // Completions of one pipelined reply resolve in the same tick: yielding once lets them all free their
        // slots, so the next read fetches a batch instead of one entry per completion.
        await yieldToEventLoop();
        if (this.stopping) break;
        this.o.onEntries();
        const room = this.roomOf(group);
        if (room <= 0) {
          await this.waitForWake();
          continue;
        }
        this.requested[lane] += room;
        group.requested += room;
        try {
          await this.read(reader, group, room);
        } finally {
          this.requested[lane] -= room;
          group.requested -= room;
          this.wake(); // the lane's other loop may read now
        }
        failures = 0;
      } catch (err) {
        if (this.stopping) break;
        const msg = (err as Error).message;
        if (/NOGROUP/.test(msg)) {
          this.o.log.warn('consumer group missing (Redis lost its data?); recreating', { error: msg });
          await this.o.onNoGroup().catch(() => undefined);
          continue;
        }
        failures++;
        if (failures === 1 || failures % 20 === 0)
          this.o.log.warn('read failed; retrying', {
            lane,
            error: msg,
            failures,
            connection: isConnectionError(err),
          });
        await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** Math.min(failures, 5), 1000)));
      }
    }
  }

  /**
   * What a group may read now: the lane's room net of the group's own outstanding reads (with one group, that is
   * the lane's), divided among the groups, and at most one batch (so a fast lane's other loop can read too).
   */
  private roomOf(group: ReadGroup): number {
    if (this.isolated) return 0;
    const counts = this.counts();
    const batch = readBatch(counts, group.lane);
    if (group.share === 1) return Math.min(readRoom(counts, group.lane), batch);
    const own = { ...counts, requested: { ...counts.requested, [group.lane]: group.requested } };
    const room = readRoom(own, group.lane);
    return room <= 0 ? room : Math.min(Math.ceil(room / group.share), batch);
  }

  /** One XREADGROUP over the group's streams; entries go to the lane buffer. */
  private async read(reader: RedisClient, group: ReadGroup, count: number): Promise<void> {
    const streams = group.streams;
    const reply = (await reader.call(
      'XREADGROUP',
      'GROUP',
      this.o.group,
      this.o.consumerName,
      'COUNT',
      count,
      'BLOCK',
      this.o.blockMs,
      'STREAMS',
      ...streams.map((s) => s.key),
      ...streams.map(() => '>'),
    )) as [string, [string, string[] | null][]][] | null;
    if (!reply) return;
    for (const [key, items] of reply) {
      const stream = this.byKey.get(key);
      if (!stream) continue;
      for (const [id, flat] of items) this.buffer(entryOf(stream, id, flat));
    }
    this.o.onEntries();
  }
}
